"""A rubric read as probabilities: does the embedded model tell accepted from rejected ICLR papers when
it is asked short rating questions, one digit each, instead of writing a whole review?

Each paper is anonymised and condensed as `scientist review-bench` does (1,800 tokens), put after the
reviewer's own system prompt and the review prompt's paper block, and followed by one question per
aspect (overall, soundness, novelty, significance, clarity, experiments). The paper block is the same
text for every question, so llama.cpp serves it from its prompt cache after the first; each question
costs its own few tokens. Each answer is a schema-constrained ``{"score": N}`` (1-9) read as the
probability-weighted digit (``llm/scores.py``). The script appends one line per paper to --out (it
resumes), then prints, for each aspect and for the mean of the six, the balanced accuracy with the
accept threshold's offset fitted on four folds and scored on the fifth (``review/metrics.py``), the
AUC, and the offsets, with bootstrap intervals.

    uv run python bench/review_rubric.py --papers ../shared/bench/iclr2022/papers \
        --labels ../shared/bench/iclr2022/ratings_subset.tsv --out rubric.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scientist.config import load_settings  # noqa: E402
from scientist.literature.guard import neutralise  # noqa: E402
from scientist.llm.gateway import Gateway  # noqa: E402
from scientist.llm.ledger import Ledger  # noqa: E402
from scientist.prompts import render  # noqa: E402
from scientist.review.anonymise import anonymise  # noqa: E402
from scientist.review.bench import balanced  # noqa: E402
from scientist.review.condense import condense  # noqa: E402
from scientist.review.labels import read_decisions  # noqa: E402
from scientist.review.metrics import cross_validated_scores, score  # noqa: E402
from scientist.review.reviewer import review_form  # noqa: E402

QUESTIONS = {
    "overall": "How strong is this paper for a top machine learning conference? Score it from 1 (clear reject) "
               "to 9 (one of the best papers). Most submitted papers are rejected.",
    "soundness": "How well are the paper's central claims supported by its evidence (proofs, experiments, "
                 "baselines)? Score it from 1 (unsupported) to 9 (fully supported).",
    "novelty": "How new are the paper's ideas compared with prior work? Score it from 1 (already known) to 9 "
               "(entirely new).",
    "significance": "How much will this work matter to other researchers? Score it from 1 (not at all) to 9 "
                    "(a great deal).",
    "clarity": "How clearly is the paper written and organised? Score it from 1 (very unclear) to 9 (very clear).",
    "experiments": "How thorough is the empirical evaluation (datasets, strong baselines, ablations, error "
                   "bars)? Score it from 1 (very weak) to 9 (very thorough).",
}


class Rating(BaseModel):
    score: int = Field(ge=1, le=9)


def rate(gateway: Gateway, system: str, head: str) -> dict[str, float]:
    row = {}
    for name, question in QUESTIONS.items():
        messages = [{"role": "system", "content": system}, {"role": "user", "content": head + question}]
        reply, expected = gateway.structured_scored(messages, Rating, fields={"score": (1, 9)}, role="review",
                                                    stage=f"rubric/{name}", max_tokens=20)
        row[name] = expected.get("score", float(reply.score))
    return row


def report(rows: list[dict]) -> None:
    labels = [bool(r["accepted"]) for r in rows]
    print(f"{len(rows)} papers, {sum(labels)} accepted; median {statistics.median(r['seconds'] for r in rows):.0f} s "
          "per paper")
    print("| reading | balanced accuracy, cross-validated | AUC | offsets per fold |")
    print("| --- | --- | --- | --- |")
    readings = {name: [r[name] for r in rows] for name in QUESTIONS}
    readings["mean of the six"] = [statistics.fmean(r[name] for name in QUESTIONS) for r in rows]
    for name, scores in readings.items():
        shifted, offsets = cross_validated_scores(labels, scores, folds=5, threshold=6.0)
        cv, plain = score(labels, shifted, threshold=6.0), score(labels, scores, threshold=6.0)
        ba, auc = cv.intervals["balanced_accuracy"], plain.intervals["auc"]
        print(f"| {name} | {cv.balanced_accuracy:.2f} ({ba.low:.2f}-{ba.high:.2f}) | {plain.auc:.2f} "
              f"({auc.low:.2f}-{auc.high:.2f}) | {', '.join(f'{o:+.2f}' for o in offsets)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=Path, required=True)
    parser.add_argument("--labels", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True, help="one JSON line per paper (resumed)")
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    decisions = read_decisions(args.labels)
    order = balanced(decisions, {p.stem for p in args.papers.glob("*.txt")}, args.limit)
    rows = [json.loads(line) for line in args.out.read_text().splitlines()] if args.out.exists() else []
    done = {r["paper_id"] for r in rows}
    gateway = Gateway(load_settings(), Ledger(None))
    system = render("review", "system", form=review_form())
    for n, paper_id in enumerate(order, start=1):
        if paper_id in done:
            continue
        started = time.perf_counter()
        text, _ = anonymise((args.papers / f"{paper_id}.txt").read_text(encoding="utf-8", errors="replace"))
        paper, _ = neutralise(condense(text, 1800).text)
        head = render("review", "review", paper=paper, persona="").split("PAPER>>>")[0] + "PAPER>>>\n"
        row = {"paper_id": paper_id, "accepted": decisions[paper_id], **rate(gateway, system, head),
               "seconds": time.perf_counter() - started}
        with args.out.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        rows.append(row)
        print(f"[{n}/{len(order)}] {paper_id}: overall {row['overall']:.2f}", file=sys.stderr)
    report(rows)


if __name__ == "__main__":
    main()

"""The research pipeline as a LangGraph ``StateGraph``; reads top to bottom like the pipeline.

ideation -> novelty -> [ideas] -> plan -> [plan] -> experiments (one branch per idea, via Send)
-> analysis -> plots -> [results] -> writeup -> [paper] -> review -> (revise -> review, at most
``revisions`` times) -> finish
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Send

from scientist.nodes.analysis import analysis
from scientist.nodes.checkpoint import make_checkpoint
from scientist.nodes.experiments import experiments
from scientist.nodes.finish import finish
from scientist.nodes.ideation import ideation
from scientist.nodes.novelty import novelty
from scientist.nodes.plan import plan
from scientist.nodes.plots import plots
from scientist.nodes.review import review
from scientist.nodes.revise import revise
from scientist.nodes.writeup import writeup
from scientist.services import Services
from scientist.state import IdeaTask, RunState


def fan_out(state: RunState) -> str | Sequence[Send]:
    """One experiments branch per idea; straight to plots when there is nothing to run."""
    sends = []
    for idea in state.get("ideas", []):
        planned = state.get("plans", {}).get(idea["name"])
        if planned:
            task: IdeaTask = {"idea": idea, "plan": planned,
                              "first_run": state.get("run_offsets", {}).get(idea["name"], 1)}
            sends.append(Send("experiments", task))
    return sends or "analysis"


def build_graph() -> StateGraph:
    """The uncompiled graph."""
    graph = StateGraph(RunState, context_schema=Services)
    graph.add_node("ideation", ideation)
    graph.add_node("novelty", novelty)
    graph.add_node("checkpoint_ideas", make_checkpoint("ideas", redo="ideation", goto_next=lambda s: "plan"),
                   destinations=("plan", "ideation", "finish"))
    graph.add_node("plan", plan)
    graph.add_node("checkpoint_plan", make_checkpoint("plan", redo="plan", goto_next=fan_out),
                   destinations=("experiments", "analysis", "plan", "finish"))
    graph.add_node("experiments", experiments)
    graph.add_node("analysis", analysis)
    graph.add_node("plots", plots)
    graph.add_node("checkpoint_results", make_checkpoint("results", redo="plan", goto_next=lambda s: "writeup"),
                   destinations=("writeup", "plan", "finish"))
    graph.add_node("writeup", writeup)
    graph.add_node("checkpoint_paper", make_checkpoint("paper", redo="writeup", goto_next=lambda s: "review"),
                   destinations=("review", "writeup", "finish"))
    graph.add_node("review", review, destinations=("revise", "finish"))
    graph.add_node("revise", revise, destinations=("review", "finish"))
    graph.add_node("finish", finish)

    graph.add_edge(START, "ideation")
    graph.add_edge("ideation", "novelty")
    graph.add_edge("novelty", "checkpoint_ideas")
    graph.add_edge("plan", "checkpoint_plan")
    graph.add_edge("experiments", "analysis")
    graph.add_edge("analysis", "plots")
    graph.add_edge("plots", "checkpoint_results")
    graph.add_edge("writeup", "checkpoint_paper")
    graph.add_edge("finish", END)
    return graph


def open_checkpointer(path: Path) -> SqliteSaver:
    """The run's ``checkpoints.sqlite``."""
    conn = sqlite3.connect(path, check_same_thread=False)
    return SqliteSaver(conn)


def compile_graph(checkpointer: SqliteSaver) -> CompiledStateGraph:
    """The graph, compiled with the run's durable checkpointer."""
    return build_graph().compile(checkpointer=checkpointer)

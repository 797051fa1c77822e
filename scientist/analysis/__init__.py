"""The pre-registered analysis of an idea's runs: per-seed results, paired tests, verdicts, and the
claims ledger the paper is written around. Computed by code, never by the model."""

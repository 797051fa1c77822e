"""Facts about code and change texts: parsing, units, diffs, results files. No policy."""

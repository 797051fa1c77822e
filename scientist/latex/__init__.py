"""LaTeX: compiling with latexmk and reading its errors."""

"""Import first in an actor process that imports lightgbm: lightgbm imports pandas whenever it is
installed (about 80 MiB of resident memory), and no actor ever hands it a DataFrame. Marking pandas
absent makes lightgbm's own optional-import check skip it; processes that do use pandas (benchmarks,
tests) never import this module."""

import sys

sys.modules.setdefault("pandas", None)  # type: ignore[arg-type]

"""cnncalc check (cnncalc/proof/homework/): one test module per module of the package."""

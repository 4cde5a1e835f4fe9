"""The lab: the lecture's claims as experiments (:mod:`~mlplab.lab.experiments`), their figures
(:mod:`~mlplab.lab.plots`) and the tour that runs them all into one report."""

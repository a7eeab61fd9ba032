"""HTML reports: one self-contained page per simulation run or per sweep, opening offline.

svg (scales, axes, formats) → charts (bars, scatter, ranges) → page (HTML, CSS, sorting JS) →
run_report / sweep_report (which charts from which files) → command (`accel report`).
"""

"""Experiments: what runs simulations to answer a question (compare, sensitivity, validation, calibration).

They sit on top of scenarios, pathway, simulation and reports, beside the front ends (the command line, the
app, the Python API in `iimsim.api`) that call them; `reports` only reads tables and draws.
"""

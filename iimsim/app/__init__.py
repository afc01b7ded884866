"""The interactive app (`iimsim app`, Streamlit): Teach steps through one patient's course week by week, Plan runs
and compares scenarios. Install with `pip install -e ".[app]"`.

Modules: `launch` starts Streamlit on `streamlit_app.py` (the pages' entry); `teach_page` and `plan_page` draw
the pages; the pure helpers they use, tested without a browser, are `teach_course` (one patient's course up to a
week), `plan_fields` (the parameters a planner edits, as dotted scenario paths), `uploads` (an uploaded scenario
file read as data), `comparison` (paired differences), `downloads` (tables as CSV or Parquet) and
`figure_lock` (one drawing at a time: sessions are threads).
"""

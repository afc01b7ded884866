"""The app's entry point, run by Streamlit (`iimsim app`): the Teach and Plan pages."""

import streamlit as st

from iimsim.app import plan_page, teach_page

st.set_page_config(page_title="iimsim", layout="wide")
st.navigation([st.Page(teach_page.page, title="Teach", url_path="teach", default=True),
               st.Page(plan_page.page, title="Plan", url_path="plan")]).run()

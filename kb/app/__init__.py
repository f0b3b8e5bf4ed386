"""The web app's tabs, one module each, and what they share; app.py composes them and serves the app."""

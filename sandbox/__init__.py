"""HTTP stand-ins for the Kaspi Shop API, WAHA and OpenAI chat completions (see README.md).

A Django app only so `manage.py sandbox` is found; the server itself never imports Django.
"""

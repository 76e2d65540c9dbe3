"""A fake of the remotes Yunqiao talks to, served over real HTTP: `python manage.py sandbox`."""

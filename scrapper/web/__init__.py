"""The page (`python main.py serve`): a small Flask app over the same core as the commands."""

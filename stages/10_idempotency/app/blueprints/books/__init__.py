from flask import Blueprint

books_bp = Blueprint("books", __name__)

from app.blueprints.books import routes  # noqa: E402, F401  (registers the routes on the blueprint)

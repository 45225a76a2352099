"""flarchitect's auto-generated API on final/'s models, with the library's defaults.

flarchitect only exposes models with an inner `Meta` class, so Book gets one here; the model,
its table and the data are final/'s.
Serve with: gunicorn --chdir bench/contenders flarchitect_app:app
"""

from common import database_url
from flarchitect import Architect
from flask import Flask

from app.extensions import db
from app.models import Book


class BookMeta:
    tag = "Books"


Book.Meta = BookMeta
app = Flask(__name__)
app.config.update(
    SQLALCHEMY_DATABASE_URI=database_url(),
    API_TITLE="Library API (flarchitect)",
    API_VERSION="1.0.0",
    API_BASE_MODEL=db.Model,
)
db.init_app(app)
with app.app_context():
    Architect(app)

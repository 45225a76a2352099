"""The source material's patterns, on final/'s models: how the seed guide writes these endpoints.

List and search load every matching row with `.all()` and return them all; popularity loads
every book, then counts each one's loans in Python (one lazy-load query per book) and sorts.
Serve with: gunicorn --chdir bench/contenders seed:app
"""

from common import database_url
from flask import Blueprint, Flask, request

from app.extensions import db, ma
from app.models import Book


class BookSchema(ma.SQLAlchemyAutoSchema):
    class Meta:
        model = Book


book_schema = BookSchema()
books_schema = BookSchema(many=True)
books_bp = Blueprint("books_bp", __name__)


@books_bp.route("", methods=["GET"])
def read_all():
    items = db.session.query(Book).all()
    return books_schema.jsonify(items), 200


@books_bp.route("/<int:id>", methods=["GET"])
def read_one(id):
    item = db.session.get(Book, id)
    return book_schema.jsonify(item), 200


@books_bp.route("/search", methods=["GET"])
def search():
    query = request.args.get("q")
    items = db.session.query(Book).where(Book.title.ilike(f"%{query}%")).all()
    return books_schema.jsonify(items), 200


@books_bp.route("/popular", methods=["GET"])
def popular():
    items = db.session.query(Book).all()
    items.sort(key=lambda x: len(x.loans), reverse=True)
    # The guide's `jsonify(items[:10])` cannot serialise models; its own schema can.
    return books_schema.jsonify(items[:10]), 200


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url()
    db.init_app(app)
    ma.init_app(app)
    app.register_blueprint(books_bp, url_prefix="/books")
    return app


app = create_app()

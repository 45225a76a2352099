"""The floor: a bare Flask route answering a precomputed body, the size of a 20-book page.

No database, no schema, no extension: what Flask and gunicorn alone cost for this response.
The body is final/'s own first page, made once at start-up through final/'s test client.
Serve with: gunicorn --chdir bench/contenders floor:app
"""

from common import database_url
from flask import Flask, Response

from app import create_app as create_final_app


def final_page() -> bytes:
    final = create_final_app(
        {"APP_CONFIG": "development", "SQLALCHEMY_DATABASE_URI": database_url()}
    )
    return final.test_client().get("/books?page=1&per_page=20").get_data()


BODY = final_page()
app = Flask(__name__)


@app.get("/books")
def books() -> Response:
    return Response(BODY, mimetype="application/json")

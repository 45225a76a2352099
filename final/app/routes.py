"""Routes that belong to no resource. Each resource has its blueprint in app/blueprints/."""

from flask import Flask, abort
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, limiter


def register_routes(app: Flask) -> None:
    @app.get("/health")
    @limiter.exempt  # load balancers poll it; it must never answer 429
    def health():
        """Is the API up, and does its database answer?
        ---
        get:
          tags: [health]
          summary: Health check
          responses:
            200:
              content:
                application/json:
                  schema: {type: object, properties: {status: {type: string, enum: [ok]}}}
            503: Problem
        """
        try:
            db.session.execute(select(1))  # proves the database answers
        except SQLAlchemyError:
            app.logger.exception("Health check: the database does not answer")
            abort(503, "The database does not answer.")
        return {"status": "ok"}

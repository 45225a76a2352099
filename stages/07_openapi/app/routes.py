"""Routes that belong to no resource. Each resource has its blueprint in app/blueprints/."""

from flask import Flask
from sqlalchemy import select

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
        """
        db.session.execute(select(1))  # proves the database answers
        return {"status": "ok"}

"""Routes that belong to no resource. Each resource has its blueprint in app/blueprints/."""

from flask import Flask
from sqlalchemy import select

from app.extensions import db


def register_routes(app: Flask) -> None:
    @app.get("/health")
    def health():
        db.session.execute(select(1))  # proves the database answers
        return {"status": "ok"}

"""Routes that belong to no resource. Each resource has its blueprint in app/blueprints/."""

from flask import Flask, abort
from redis import RedisError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import cache, db, limiter


def register_routes(app: Flask) -> None:
    @app.get("/health")
    @limiter.exempt  # load balancers poll it; it must never answer 429
    def health():
        """Liveness: is the process up? It asks nothing of the database or Redis, so an outage
        of theirs never gets healthy workers restarted.
        ---
        get:
          tags: [health]
          summary: Liveness check
          responses:
            200:
              content:
                application/json:
                  schema: {type: object, properties: {status: {type: string, enum: [ok]}}}
        """
        return {"status": "ok"}

    @app.get("/health/ready")
    @limiter.exempt
    def ready():
        """Readiness: do the database and, when configured, Redis answer? Until they do, a load
        balancer sends this server no requests.
        ---
        get:
          tags: [health]
          summary: Readiness check
          responses:
            200:
              content:
                application/json:
                  schema: {type: object, properties: {status: {type: string, enum: [ready]}}}
            503: Problem
        """
        try:
            db.session.execute(select(1))  # proves the database answers
        except SQLAlchemyError:
            app.logger.exception("Readiness check: the database does not answer")
            abort(503, "The database does not answer.")
        if app.config["CACHE_TYPE"] == "RedisCache":  # REDIS_URL: the cache and the limits
            try:
                cache.has("ready")  # any question proves Redis answers
            except RedisError:
                app.logger.exception("Readiness check: Redis does not answer")
                abort(503, "Redis does not answer.")
        return {"status": "ready"}

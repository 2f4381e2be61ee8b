"""Shared FastAPI dependencies."""

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from qa.pipeline import Pipeline


def get_pipeline(request: Request) -> Pipeline:
    pipeline = getattr(request.app.state, "pipeline", None)
    if pipeline is None:
        raise HTTPException(status_code=503, detail="the index is still loading; retry in a few seconds")
    return pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]

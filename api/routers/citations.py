"""POST /v1/citations/verify: is the cited text exactly at those offsets?"""

from fastapi import APIRouter

from api.dependencies import PipelineDep
from api.schemas import VerifyIn, VerifyOut
from qa.index.base import UnknownDocumentError
from qa.readers.answers import Verification, verify_citation

router = APIRouter(prefix="/v1/citations", tags=["citations"])


@router.post("/verify", response_model=VerifyOut)
def verify(body: VerifyIn, pipeline: PipelineDep) -> VerifyOut:
    """Check a citation against the stored document, and show what is really there."""
    document = pipeline.index.document(body.document_id)
    if document is None:
        raise UnknownDocumentError(body.document_id)
    if body.end < body.start:
        # The schema cannot forbid it (JSON schema does not compare two fields), so it is an answer, not a 422.
        result = Verification(
            False, "", f"end {body.end} is before start {body.start}; a citation's end is at least its start"
        )
    else:
        result = verify_citation(document, body.start, body.end, body.text)
    return VerifyOut(
        verified=result.verified,
        document_id=document.id,
        start=body.start,
        end=body.end,
        text=body.text,
        actual_text=result.actual_text,
        message=result.message,
    )

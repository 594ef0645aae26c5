"""Chat integrations (Slack, Mattermost, Teams): verify, translate, format; same ask() as /ask."""

from fastapi import APIRouter

router = APIRouter(prefix="/integrations", tags=["integrations"])

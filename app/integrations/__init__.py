"""Chat integrations (Slack, Mattermost, Teams): verify, translate, format; same ask() as /ask."""

from fastapi import APIRouter

from app.integrations import mattermost, mattermost_feedback, slack, slack_feedback, teams

router = APIRouter(prefix="/integrations", tags=["integrations"])
router.include_router(slack.router)
router.include_router(slack_feedback.router)
router.include_router(mattermost.router)
router.include_router(mattermost_feedback.router)
router.include_router(teams.router)

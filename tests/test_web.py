from fastapi.testclient import TestClient

from app.main import create_app


def test_the_form_works_without_javascript(client):
    page = client.get("/")
    assert page.status_code == 200
    assert '<form method="get" action="/"' in page.text
    assert 'name="q"' in page.text
    assert "<script" not in page.text


def test_the_form_shows_highlighted_answers_with_links(client):
    page = client.get("/", params={"q": "How much did Denmark pay Kosovo?"})
    assert page.status_code == 200
    assert "€200 million</mark>" in page.text
    assert 'href="/documents/000_383fbfdafa3fa088.txt?hl=10#p10"' in page.text
    assert "000_383fbfdafa3fa088.txt ¶10" in page.text


def test_the_question_is_escaped(client):
    page = client.get("/", params={"q": '<script>alert("x")</script> Denmark'})
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_no_answer_is_said_plainly_with_the_closest_passages(client):
    page = client.get("/", params={"q": "Who won the 2022 World Cup?"})
    assert "Nothing in the archive answers that." in page.text
    assert "<blockquote>" in page.text


def test_an_overlong_question_gets_a_message_not_an_error_page(client):
    page = client.get("/", params={"q": "x" * 600})
    assert page.status_code == 422
    assert "limited to 500 characters" in page.text


def test_the_document_view_numbers_anchors_and_highlights_paragraphs(client):
    page = client.get("/documents/000_383fbfdafa3fa088.txt", params={"hl": 10})
    assert page.status_code == 200
    assert 'id="p1"' in page.text and 'id="p31"' in page.text
    assert '<section id="p10" class="para body hl">' in page.text
    assert "¶10" in page.text
    assert page.text.count(' hl"') == 1


def test_article_text_is_escaped_in_the_document_view(client, settings):
    page = client.get("/documents/003_2876eb5f33050c79.txt")
    assert "&#34;" not in page.text or "“" in page.text
    assert "<p>“Fire up the deportation planes,”" in page.text


def test_pages_are_mobile_friendly(client):
    page = client.get("/")
    assert 'name="viewport"' in page.text
    assert client.get("/static/style.css").status_code == 200


def test_monitors_can_probe_the_front_page_and_health_with_head(client):
    assert client.head("/").status_code == 200
    assert client.head("/healthz").status_code == 200


def test_the_form_follows_the_answer_and_length_settings(settings, embedder):
    changes = {"default_top_k": 1, "max_top_k": 2, "max_question_chars": 40}
    with TestClient(create_app(settings.model_copy(update=changes), embedder=embedder)) as c:
        assert 'maxlength="40"' in c.get("/").text
        page = c.get("/", params={"q": "How much did Denmark pay Kosovo?"})
        assert page.text.count('<li class="answer">') == 1
        over = c.get("/", params={"q": "How much did Denmark pay Kosovo?", "top_k": 3})
        assert over.status_code == 422 and "top_k is 3; it may be at most 2." in over.text
        long = c.get("/", params={"q": "x" * 41})
        assert long.status_code == 422 and "limited to 40 characters" in long.text

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
        assert page.text.count('<li class="card answer">') == 1
        over = c.get("/", params={"q": "How much did Denmark pay Kosovo?", "top_k": 3})
        assert over.status_code == 422 and "top_k is 3; it may be at most 2." in over.text
        long = c.get("/", params={"q": "x" * 41})
        assert long.status_code == 422 and "limited to 40 characters" in long.text


def test_disagreeing_sources_are_grouped_under_one_heading(client):
    page = client.get("/", params={"q": "How much did Denmark pay Kosovo?"}).text
    group = page.split('<h2 id="answers-h">Sources differ</h2>')[1].split("</section>")[0]
    assert "$230 million</mark>" in group and "€200 million</mark>" in group
    assert group.count('<li class="card answer">') == 2
    assert page.count("Sources differ") == 1


def test_one_sure_answer_stands_alone_and_the_rest_are_other_passages(client):
    page = client.get("/", params={"q": "In what year was the conflict with Serbia?"}).text
    assert '<h2 id="answers-h">Answer</h2>' in page and "Sources differ" not in page
    answers, others = page.split('<h2 id="others-h">Other passages</h2>')
    assert answers.count('<li class="card answer">') == 1 and "1999</mark>" in answers
    assert others.count('<li class="card other">') == 2
    assert 'id="cite-a1"' in answers and "cite-o" not in others  # only answers are to copy


def test_answers_under_the_score_threshold_are_only_other_passages(settings, embedder):
    unsure = settings.model_copy(update={"form_min_score": 0.99})
    with TestClient(create_app(unsure, embedder=embedder)) as c:
        page = c.get("/", params={"q": "How much did Denmark pay Kosovo?"}).text
    assert "No answer is sure enough to quote." in page
    assert '<li class="card answer">' not in page and "Other passages" in page
    assert "€200 million</mark>" in page  # still shown, apart


def test_no_answer_shows_the_closest_passages_apart(client):
    page = client.get("/", params={"q": "Who won the 2022 World Cup?"}).text
    assert "Nothing in the archive answers that." in page and "Other passages" in page
    assert '<li class="card answer">' not in page


def test_the_pages_link_each_other(client):
    page = client.get("/").text
    assert 'href="/archive"' in page and 'href="/desk"' in page
    assert client.get("/static/favicon.svg").status_code == 200

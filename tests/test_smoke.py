def test_dashboard_renders_for_alice(alice_http, referral):
    response = alice_http.get("/")
    assert response.status_code == 200
    assert b"Elm Grove Massage" in response.content

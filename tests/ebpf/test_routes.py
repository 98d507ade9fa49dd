"""http.route as Beyla's routes decorator decides it: its matcher tree and its heuristic."""
from __future__ import annotations

import pytest

from ebpf.config import RoutesConfig
from ebpf.routes import RouteMatcher, heuristic_route


def test_literal_segments_win_over_parameters_whatever_the_order():
    m = RouteMatcher(RoutesConfig(patterns=["/users/{id}", "/users/me", "/files/:name/raw", "/static/*", "/"]))
    assert m.route("/users/me") == "/users/me"
    assert m.route("/users/42") == m.route("/users/42/") == "/users/{id}"
    assert m.route("/files/a.txt/raw") == "/files/:name/raw"
    assert m.route("/static/css/site.css") == m.route("/static") == "/static/*"
    assert m.route("/") == "/"
    assert m.route("/files/a.txt") == "/**"  # unmatched: wildcard (our default)


@pytest.mark.parametrize("path,route", [  # Beyla's clusterurl tests
    ("/users/fdklsd/j4elk/23993/job/2", "/users/*/j4elk/*/job/*"),
    ("/v1/products/22j", "/v1/products/*"),
    ("/products/1/org/3", "/products/*/org/*"),
    ("/products//org/3", "/products//org/*"),
    ("/v1/k6-test-runs/1", "/v1/k6-test-runs/*"),
    ("/u/2", "/u/*"),
    ("/**", "/*"),
    ("123/ljgdflgjf", "*/*"),
    ("/api/hello.world", "/api/hello.world"),
    ("/user_space/", "/user_space/"),
    ("/attach?session_id=ddfsdsf", "/attach"),
    ("/orders/550e8400-e29b-41d4-a716-446655440000/items", "/orders/*/items"),
])
def test_heuristic_replaces_id_like_segments(path, route):
    assert heuristic_route(path) == route


def test_heuristic_mode_wildcard_char_and_path_mode():
    assert RouteMatcher(RoutesConfig(unmatched="heuristic", wildcard_char="#")).route("/a/42") == "/a/#"
    assert RouteMatcher(RoutesConfig(unmatched="path")).route("/a/42") == "/a/42"
    assert RouteMatcher(RoutesConfig(unmatched="unset")).route("/a/42") is None


def test_ignored_patterns_drop_metrics_unless_ignore_mode_is_traces():
    assert RouteMatcher(RoutesConfig(ignored_patterns=["/health", "/metrics/*"])).ignored_path("/metrics/x")
    assert not RouteMatcher(RoutesConfig(ignored_patterns=["/health"])).ignored_path("/healthz")
    assert not RouteMatcher(RoutesConfig(ignored_patterns=["/health"], ignore_mode="traces")).ignored_path("/health")
    assert RouteMatcher(RoutesConfig(ignored_patterns=["/health"], ignore_mode="metrics")).ignored_path("/health")


def test_parameters_with_dashes_regexes_and_suffixes_match_one_segment():
    m = RouteMatcher(RoutesConfig(patterns=["/files/{file-name}", "/items/{id:[0-9]+}", "/v1/:id.json"]))
    assert m.route("/files/report.pdf") == "/files/{file-name}"
    assert m.route("/items/42") == "/items/{id:[0-9]+}"
    assert m.route("/v1/7") == "/v1/:id.json"
    assert m.route("/files/a/b") == "/**"  # a parameter is one segment, never more

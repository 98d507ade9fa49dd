from tests.component_fixtures import fake_api, fake_host, make_settings, recorder  # noqa: F401

"""Plugins every test directory may use."""

# The browser fixtures (browser, page, screenshot_dir): Playwright loads only when a test asks for one.
pytest_plugins = ["tests.support.browser"]

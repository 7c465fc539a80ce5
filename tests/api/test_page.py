"""The shopper page in headless Chromium (Debian's, through /usr/bin/chromedriver) against the live API."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.api.conftest import ApiCatalog, LiveServer

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REPORTS = Path(__file__).resolve().parents[2] / "reports"
CHROMEDRIVER = "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    if shutil.which("chromium") is None or not Path(CHROMEDRIVER).exists():
        pytest.fail("chromium and chromium-driver are missing: run `make install` (scripts/install-chromium.sh)")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1100"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def cards(driver: webdriver.Chrome) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#results li.card")


def shown(driver: webdriver.Chrome, attribute: str) -> list[str]:
    """The data attribute of every result card, read in one go (the grid may be replaced meanwhile)."""
    return list(driver.execute_script(
        f"return [...document.querySelectorAll('#results li.card')].map(card => card.dataset.{attribute})"
    ))  # fmt: skip


def test_upload_a_photo_see_results_filter_and_load_more(
    browser: webdriver.Chrome, live_api: LiveServer, api_catalog: ApiCatalog, tmp_path: Path
) -> None:
    wait = WebDriverWait(browser, 30)
    browser.get(f"{live_api.url}/")
    assert browser.title.startswith("Find it by photo")
    wait.until(lambda d: len(Select(d.find_element(By.ID, "category")).options) == 4)  # any + 3 from /v1/facets

    query = api_catalog.of_category("dress")[4]
    photo = tmp_path / "my-photo.jpg"
    photo.write_bytes(api_catalog.photos[query.id])
    browser.find_element(By.ID, "photo").send_keys(str(photo))
    wait.until(lambda d: len(shown(d, "id")) == 5)  # k_default of the test settings
    first = cards(browser)[0]
    assert first.get_attribute("data-id") == query.id
    assert first.find_element(By.CSS_SELECTOR, ".title").text == query.title
    assert first.find_element(By.CSS_SELECTOR, ".brand").text == query.brand
    assert first.find_element(By.CSS_SELECTOR, ".price").text == f"{query.price:.2f} EUR"
    assert first.find_element(By.CSS_SELECTOR, ".score").text.startswith("match 1.00")
    wait.until(
        lambda d: d.execute_script(  # image_url does not resolve: the page falls back to the API's copy
            "const img = document.querySelector('#results li .photo'); return img.complete && img.naturalWidth > 0"
        )
    )

    Select(browser.find_element(By.ID, "category")).select_by_value("shoe")
    wait.until(lambda d: set(shown(d, "category")) == {"shoe"})
    assert "5 matching products" in browser.find_element(By.ID, "status").text

    browser.find_element(By.ID, "more").click()
    wait.until(lambda d: len(shown(d, "id")) == 10)
    assert set(shown(browser, "category")) == {"shoe"}
    assert len(set(shown(browser, "id"))) == 10

    REPORTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(REPORTS / "api-page.png"))


def test_errors_are_shown_to_the_shopper(browser: webdriver.Chrome, live_api: LiveServer, tmp_path: Path) -> None:
    browser.get(f"{live_api.url}/")
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_bytes(b"this is text, not a photo")
    browser.find_element(By.ID, "photo").send_keys(str(not_a_photo))
    status = browser.find_element(By.ID, "status")
    WebDriverWait(browser, 30).until(lambda d: "cannot decode image" in status.text)
    assert "error" in status.get_attribute("class")


def test_search_by_words_without_a_photo(
    browser: webdriver.Chrome, live_api: LiveServer, api_catalog: ApiCatalog
) -> None:
    wait = WebDriverWait(browser, 30)
    browser.get(f"{live_api.url}/")
    wait.until(lambda d: len(Select(d.find_element(By.ID, "category")).options) == 4)
    browser.find_element(By.ID, "search-button").click()
    status = browser.find_element(By.ID, "status")
    wait.until(lambda d: "Choose a photo or type some words" in status.text)

    linen = [item for item in api_catalog.items if "linen" in item.title]
    browser.find_element(By.ID, "q").send_keys("linen\n")  # Enter submits the form
    wait.until(lambda d: len(shown(d, "id")) == 5)  # k_default of the test settings
    assert set(shown(browser, "id")) <= {item.id for item in linen}
    first = cards(browser)[0]
    assert "linen" in first.find_element(By.CSS_SELECTOR, ".title").text
    assert first.find_element(By.CSS_SELECTOR, ".score").text == "words match #1"

    Select(browser.find_element(By.ID, "category")).select_by_value("shirt")
    wait.until(lambda d: set(shown(d, "category")) == {"shirt"})
    assert len(shown(browser, "id")) == sum(item.category == "shirt" for item in linen) == 4
    assert browser.find_element(By.ID, "more").get_attribute("hidden") is not None
    wait.until(
        lambda d: d.execute_script(
            "return [...document.querySelectorAll('#results li .photo')].every(i => i.complete && i.naturalWidth > 0)"
        )
    )
    REPORTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(REPORTS / "api-page-text.png"))

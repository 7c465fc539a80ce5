"""A standalone Solr node (JettySolrRunner) serving one core per configset of deploy/solr/."""

import shutil

import httpx

from devstack.jvm import classpath, log4j2_option
from devstack.service import Service
from devstack.settings import LOOPBACK

SOLR_MAIN = "org.cbirfashion.deploy.SolrServerMain"


class SolrService(Service):
    """Solr over HTTP at http://127.0.0.1:PORT/solr with one core per configset."""

    name = "solr"

    def ports(self) -> dict[str, int]:
        return {"solr_port": self.settings.solr_port}

    def address(self) -> str:
        return f"http://{LOOPBACK}:{self.settings.solr_port}/solr"

    def core_url(self) -> str:
        """The URL a pysolr client of the catalog core uses."""
        return f"{self.address()}/{self.settings.solr_core}"

    @property
    def _home(self) -> str:
        return str(self.dir / "home")

    def prepare(self) -> None:
        """Write the Solr home: solr.xml and a core.properties naming the repo's configset (read in place)."""
        solr_deploy = self.settings.deploy_dir / "solr"
        core_dir = self.dir / "home" / self.settings.solr_core
        core_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(solr_deploy / "solr.xml", self.dir / "home" / "solr.xml")
        (core_dir / "core.properties").write_text(
            f"name={self.settings.solr_core}\nconfigSet={self.settings.solr_core}\n"
        )

    def argv(self) -> list[str]:
        s = self.settings
        return [
            s.java, *s.jvm_opts, log4j2_option(s),
            f"-Dsolr.configset.dir={s.deploy_dir / 'solr' / 'configsets'}",
            f"-Dsolr.log.dir={s.run_dir.resolve() / 'logs'}",
            "-cp", classpath(s, "solr"), SOLR_MAIN, self._home, str(s.solr_port),
        ]  # fmt: skip

    def startup_error(self) -> str | None:
        """The core's initialisation failure (a broken configset): Solr keeps running, but never healthy."""
        try:
            response = httpx.get(
                f"{self.address()}/admin/cores",
                params={"action": "STATUS", "core": self.settings.solr_core, "wt": "json"},
                timeout=3.0,
            )
            failures = response.json().get("initFailures", {})
        except (httpx.HTTPError, ValueError):
            return None
        failure = failures.get(self.settings.solr_core)
        return None if failure is None else f"core {self.settings.solr_core} failed to load: {failure}"

    def healthy(self) -> bool:
        try:
            response = httpx.get(f"{self.core_url()}/admin/ping", params={"wt": "json"}, timeout=3.0)
            return response.status_code == 200 and response.json().get("status") == "OK"
        except (httpx.HTTPError, ValueError):
            return False

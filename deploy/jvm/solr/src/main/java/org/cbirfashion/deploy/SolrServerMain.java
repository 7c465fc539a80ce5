package org.cbirfashion.deploy;

import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

/**
 * Serves a Solr home over HTTP at http://127.0.0.1:PORT/solr until the process is stopped.
 *
 * <p>Usage: {@code SolrServerMain SOLR_HOME PORT}. Port 0 picks a free port. Prints one line
 * {@code SOLR_STARTED port=<port>} once Solr accepts requests, so a launcher can read the port.
 */
public final class SolrServerMain {
  private SolrServerMain() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 2) {
      System.err.println("usage: SolrServerMain SOLR_HOME PORT");
      System.exit(2);
    }
    JettyConfig config =
        JettyConfig.builder().setContext("/solr").setPort(Integer.parseInt(args[1])).stopAtShutdown(true).build();
    JettySolrRunner jetty = new JettySolrRunner(args[0], config);
    jetty.start();
    System.out.println("SOLR_STARTED port=" + jetty.getLocalPort());
    System.out.flush();
    Thread.currentThread().join();
  }
}

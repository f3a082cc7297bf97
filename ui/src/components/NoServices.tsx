// What to start when a page's service is down (or none is up at all).

export function NoServices({ need }: { need: "live" | "backtest" | "any" }) {
  return (
    <section data-testid="no-services" className="instructions">
      <h2>{need === "any" ? "No service is up" : `The ${need} pages need a service that is down`}</h2>
      {need !== "backtest" ? (
        <>
          <h3>Live pages: the daemon</h3>
          <p>
            Start it with <code>.venv/bin/exec-live</code> (paper mode: it starts the paper venue
            itself), or run <code>make demo</code>. The console finds it at{" "}
            <code>EXEC_CONSOLE_DAEMON_URL</code> (default <code>http://127.0.0.1:8001</code>).
          </p>
        </>
      ) : null}
      {need !== "live" ? (
        <>
          <h3>Backtest pages: the results store</h3>
          <p>
            Run <code>make demo</code> (it runs the backtest pipeline and writes its results), and
            point <code>EXEC_CONSOLE_RESULTS_STORE_URL</code> (or <code>EXEC_RESULTS_STORE_URL</code>)
            at the results store.
          </p>
        </>
      ) : null}
      <p>This page follows the services: it changes by itself once they are up.</p>
    </section>
  );
}

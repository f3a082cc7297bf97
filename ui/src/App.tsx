// The pages by path, and the service status every page depends on (polled every 3 s: the
// navigation shows only the pages whose services are up).

import { api } from "./api";
import { ApiErrorBox } from "./components/ApiErrorBox";
import { Layout } from "./components/Layout";
import { NoServices } from "./components/NoServices";
import { BacktestCompare } from "./pages/BacktestCompare";
import { BacktestRuns } from "./pages/BacktestRuns";
import { Execute } from "./pages/Execute";
import { Logs } from "./pages/Logs";
import { OrderDetail } from "./pages/OrderDetail";
import { Orders } from "./pages/Orders";
import { Positions } from "./pages/Positions";
import { StatusPage } from "./pages/StatusPage";
import { useLocation } from "./router";
import { usePoll } from "./usePoll";

export const STATUS_POLL_MS = 3000;

function page(path: string, search: URLSearchParams) {
  if (path === "/live/execute") return <Execute />;
  if (path === "/live/orders") return <Orders />;
  if (path.startsWith("/live/orders/")) {
    return <OrderDetail operationId={decodeURIComponent(path.slice("/live/orders/".length))} />;
  }
  if (path === "/live/positions") return <Positions />;
  if (path === "/live/logs") return <Logs />;
  if (path === "/backtest/runs") return <BacktestRuns />;
  if (path === "/backtest/compare") {
    const runs = (search.get("runs") ?? "").split(",").filter(Boolean);
    return <BacktestCompare runIds={runs} />;
  }
  return null;
}

export function App() {
  const { path, search } = useLocation();
  const status = usePoll(api.status, STATUS_POLL_MS, []);
  const pages = status.data?.pages;
  let content;
  if (path === "/" || path === "/status") {
    content = <StatusPage status={status.data} error={status.error} />;
  } else if (!pages) {
    // a page is shown once it is known that its service is up (no request to a dead one)
    content = status.error ? (
      <ApiErrorBox error={status.error} />
    ) : (
      <p data-testid="status-loading">Asking the console which services are up…</p>
    );
  } else if (path.startsWith("/live/") && !pages.live) {
    content = <NoServices need={pages.backtest ? "live" : "any"} />;
  } else if (path.startsWith("/backtest/") && !pages.backtest) {
    content = <NoServices need={pages.live ? "backtest" : "any"} />;
  } else {
    content = page(path, search) ?? (
      <p data-testid="not-found">
        No page at <code>{path}</code>.
      </p>
    );
  }
  return (
    <Layout status={status.data} path={path}>
      {content}
    </Layout>
  );
}

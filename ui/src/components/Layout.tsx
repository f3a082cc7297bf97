// The frame of every page: the navigation (only the pages whose services are up), the
// token field, and the page.

import { useState, type ReactNode } from "react";
import type { Status } from "../api";
import { Link } from "../router";
import { getToken, setToken } from "../token";

export const LIVE_PAGES = [
  ["/live/execute", "Execute"],
  ["/live/orders", "Orders"],
  ["/live/positions", "Positions"],
  ["/live/logs", "Logs"],
] as const;
export const BACKTEST_PAGES = [
  ["/backtest/runs", "Backtest runs"],
  ["/backtest/compare", "Compare"],
] as const;

function TokenField() {
  const [token, setValue] = useState(getToken());
  return (
    <label className="token">
      Daemon token{" "}
      <input
        type="password"
        data-testid="token-input"
        value={token}
        placeholder="bearer token"
        autoComplete="off"
        onChange={(e) => {
          setValue(e.target.value);
          setToken(e.target.value.trim());
        }}
      />
    </label>
  );
}

export function Layout({ status, path, children }: { status?: Status; path: string; children: ReactNode }) {
  const link = ([href, label]: readonly [string, string]) => (
    <Link
      key={href}
      href={href}
      data-testid={`nav-${href.slice(1).replace("/", "-")}`}
      className={path.startsWith(href) ? "active" : ""}
    >
      {label}
    </Link>
  );
  return (
    <>
      <header>
        <strong>Execution Services</strong>
        <nav data-testid="nav">
          <Link href="/status" data-testid="nav-status" className={path === "/status" ? "active" : ""}>
            Status
          </Link>
          {status?.pages.live ? <span data-testid="nav-live">{LIVE_PAGES.map(link)}</span> : null}
          {status?.pages.backtest ? (
            <span data-testid="nav-backtest">{BACKTEST_PAGES.map(link)}</span>
          ) : null}
        </nav>
        <TokenField />
      </header>
      <main>{children}</main>
    </>
  );
}

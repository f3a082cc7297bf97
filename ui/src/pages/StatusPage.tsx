// `/status`: every service the console detects, up or down, refreshed with the app's poll.

import type { ApiError, Service, Status } from "../api";
import { ApiErrorBox } from "../components/ApiErrorBox";
import { NoServices } from "../components/NoServices";

function detailText(detail: unknown): string {
  if (detail === undefined || detail === null) return "";
  return typeof detail === "string" ? detail : JSON.stringify(detail);
}

function Row({ name, testid, service }: { name: string; testid: string; service: Service }) {
  return (
    <tr data-testid={`service-${testid}`} data-up={String(service.up)}>
      <td>{name}</td>
      <td className={service.up ? "up" : "down"} data-testid={`service-${testid}-state`}>
        {service.up ? "up" : "down"}
      </td>
      <td className="detail">
        {service.url ? <code>{service.url}</code> : null} {detailText(service.detail)}
      </td>
    </tr>
  );
}

export function StatusPage({ status, error }: { status?: Status; error?: ApiError }) {
  return (
    <section data-testid="page-status">
      <h1>Services</h1>
      <ApiErrorBox error={error} />
      {!status ? (
        <p data-testid="status-loading">Asking the console…</p>
      ) : (
        <>
          <table data-testid="services">
            <thead>
              <tr>
                <th>service</th>
                <th>state</th>
                <th>detail</th>
              </tr>
            </thead>
            <tbody>
              <Row name="Live daemon" testid="daemon" service={status.services.daemon} />
              <Row name="PostgreSQL (OMS)" testid="database" service={status.services.database} />
              {Object.entries(status.services.venues).map(([name, venue]) => (
                <Row key={name} name={`Venue ${name}`} testid={`venue-${name}`} service={venue} />
              ))}
              <Row name="Results store" testid="results-store" service={status.services.results_store} />
              <Row name="Dagster webserver" testid="dagster" service={status.services.dagster} />
            </tbody>
          </table>
          {status.services.dagster.up && status.services.dagster.url ? (
            <p>
              <a href={status.services.dagster.url} target="_blank" rel="noreferrer">
                Open the Dagster UI
              </a>
            </p>
          ) : null}
          {!status.pages.live && !status.pages.backtest ? <NoServices need="any" /> : null}
          {status.pages.live !== status.pages.backtest ? (
            <NoServices need={status.pages.live ? "backtest" : "live"} />
          ) : null}
        </>
      )}
    </section>
  );
}

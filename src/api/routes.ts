/**
 * The REST route table: method, path, operation (for authorization), schemas (for validation and the
 * OpenAPI document) and the service call. rest.ts registers exactly these routes and openapi.ts
 * describes exactly these, so the document cannot miss a route.
 */
import type { z } from 'zod';
import type { Identity } from './auth.ts';
import type { Operation } from './authz.ts';
import * as S from './schemas.ts';
import { DnssecConfigBody, DnssecRolloverBody } from './dnssec.ts';
import type { ApiService, WriteOpts } from './service.ts';

/** What a route handler gets from the transport. */
export interface RouteContext {
  id?: Identity;
  params: Record<string, string>;
  query: unknown;
  body: unknown;
  write: WriteOpts;
  authorization?: string;
  /** Renders the Prometheus text (GET /metrics). */
  metricsText: () => Promise<string>;
  /** The OpenAPI document (GET /v1/openapi.json). */
  openapi: () => unknown;
}

/** One REST route. */
export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** fastify-style path ("/v1/zones/:zone"). */
  url: string;
  op: Operation;
  summary: string;
  /** JSON body schema, or 'zonefile' for a text/plain RFC 1035 body. */
  body?: z.ZodType | 'zonefile';
  query?: z.ZodType;
  /** Success status (200 unless said). */
  status?: number;
  /** Response content type: JSON unless said. */
  produces?: 'text/plain' | 'text/dns';
  /** Accepts If-Match. */
  conditional?: boolean;
  handler: (svc: ApiService, c: RouteContext) => unknown;
}

const zone = (c: RouteContext): string => c.params.zone;
const rid = (c: RouteContext): string => c.params.id;
const me = (c: RouteContext): Identity => c.id as Identity;

/** Every REST endpoint of SPEC 4. */
export const ROUTES: Route[] = [
  { method: 'GET', url: '/v1/health', op: 'health', summary: 'Liveness (public)', handler: (s) => s.health() },
  { method: 'GET', url: '/metrics', op: 'metrics', summary: 'Prometheus metrics (public)', produces: 'text/plain', handler: (_s, c) => c.metricsText() },
  { method: 'GET', url: '/v1/openapi.json', op: 'openapi', summary: 'This OpenAPI document (public)', handler: (_s, c) => c.openapi() },
  { method: 'POST', url: '/v1/auth/login', op: 'auth.login', summary: 'Log in through MCIAS', body: S.LoginBody, handler: (s, c) => s.login(c.body) },
  { method: 'POST', url: '/v1/auth/logout', op: 'auth.logout', summary: 'Revoke the bearer token', handler: (s, c) => s.logout(me(c), c.authorization) },
  { method: 'GET', url: '/v1/zones', op: 'zones.list', summary: 'List zones (the catalog zone only with ?catalog=true)', query: S.ZoneListQuery, handler: (s, c) => s.listZones(me(c), c.query) },
  { method: 'POST', url: '/v1/zones', op: 'zones.create', summary: 'Create a zone (admin)', body: S.ZoneCreateBody, status: 201, handler: (s, c) => s.createZone(me(c), c.body, c.write) },
  { method: 'GET', url: '/v1/zones/:zone', op: 'zones.get', summary: 'Get a zone (?at= point in time)', query: S.AtQuery, handler: (s, c) => s.getZone(me(c), zone(c), c.query) },
  { method: 'PUT', url: '/v1/zones/:zone', op: 'zones.update', summary: 'Update SOA parameters (admin)', body: S.ZoneUpdateBody, conditional: true, handler: (s, c) => s.updateZone(me(c), zone(c), c.body, c.write) },
  { method: 'DELETE', url: '/v1/zones/:zone', op: 'zones.delete', summary: 'Delete a zone; its history stays (admin)', conditional: true, handler: (s, c) => s.deleteZone(me(c), zone(c), c.write) },
  { method: 'GET', url: '/v1/zones/:zone/records', op: 'records.list', summary: 'List records (?name= &type= &at=; with ?limit= one page, and next_cursor to pass as ?cursor= while more follow)', query: S.RecordsQuery, handler: (s, c) => s.listRecords(me(c), zone(c), c.query) },
  { method: 'POST', url: '/v1/zones/:zone/records', op: 'records.create', summary: 'Create a record (name relative to the zone, "@" = apex)', body: S.RecordCreateBody, status: 201, conditional: true, handler: (s, c) => s.createRecord(me(c), zone(c), c.body, c.write) },
  { method: 'GET', url: '/v1/zones/:zone/records/:id', op: 'records.get', summary: 'Get a record', handler: (s, c) => s.getRecord(me(c), zone(c), rid(c)) },
  { method: 'PUT', url: '/v1/zones/:zone/records/:id', op: 'records.update', summary: 'Update a record value and/or TTL', body: S.RecordUpdateBody, conditional: true, handler: (s, c) => s.updateRecord(me(c), zone(c), rid(c), c.body, c.write) },
  { method: 'DELETE', url: '/v1/zones/:zone/records/:id', op: 'records.delete', summary: 'Delete a record', conditional: true, handler: (s, c) => s.deleteRecord(me(c), zone(c), rid(c), c.write) },
  { method: 'POST', url: '/v1/zones/:zone/changes', op: 'records.changes', summary: 'Apply several changes as one atomic batch', body: S.ChangesBody, conditional: true, handler: (s, c) => s.changes(me(c), zone(c), c.body, c.write) },
  { method: 'GET', url: '/v1/zones/:zone/history', op: 'zones.history', summary: 'Zone history (?name= &type= &since= &until= &batch_id= &actor= &order= &limit= &cursor=; next_cursor and remaining while more follow)', query: S.HistoryQuery, handler: (s, c) => s.zoneHistory(me(c), zone(c), c.query) },
  { method: 'GET', url: '/v1/zones/:zone/records/:id/history', op: 'records.history', summary: 'Every version of one record', handler: (s, c) => s.recordHistory(me(c), zone(c), rid(c)) },
  { method: 'GET', url: '/v1/zones/:zone/export', op: 'zones.export', summary: 'RFC 1035 zone file (?at=)', query: S.AtQuery, produces: 'text/dns', handler: (s, c) => s.exportZone(me(c), zone(c), c.query) },
  { method: 'POST', url: '/v1/zones/:zone/import', op: 'zones.import', summary: 'Import an RFC 1035 zone file: create the zone or make it equal to the file (admin)', body: 'zonefile', conditional: true, handler: (s, c) => s.importZone(me(c), zone(c), c.body, c.write) },
  { method: 'POST', url: '/v1/zones/:zone/restore', op: 'zones.restore', summary: 'Restore the zone to a point; history is kept (admin)', body: S.RestoreBody, conditional: true, handler: (s, c) => s.restoreZone(me(c), zone(c), c.body, c.write) },
  { method: 'GET', url: '/v1/zones/:zone/dnssec', op: 'dnssec.get', summary: 'DNSSEC settings, keys (public halves) and the DS records for the parent (admin)', handler: (s, c) => s.getDnssec(me(c), zone(c)) },
  { method: 'PUT', url: '/v1/zones/:zone/dnssec', op: 'dnssec.configure', summary: 'Sign the zone, change its denial, or stop signing (admin)', body: DnssecConfigBody, conditional: true, handler: (s, c) => s.putDnssec(me(c), zone(c), c.body, c.write) },
  { method: 'POST', url: '/v1/zones/:zone/dnssec/rollover', op: 'dnssec.rollover', summary: 'Start a key rollover (admin)', body: DnssecRolloverBody, conditional: true, handler: (s, c) => s.rolloverDnssec(me(c), zone(c), c.body, c.write) },
  { method: 'GET', url: '/v1/events', op: 'events.list', summary: 'The raw event log (?after= &limit=) (admin)', query: S.EventsQuery, handler: (s, c) => s.listEvents(me(c), c.query) },
  { method: 'POST', url: '/v1/snapshots', op: 'snapshots.create', summary: 'Checkpoint and VACUUM INTO the backup directory (admin)', status: 201, handler: (s, c) => s.snapshot(me(c)) },
];

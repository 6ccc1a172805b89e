// Table types of migration 0009-names-security, kept with the capability that owns them (db.withTables adds them).
import type { Generated, Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.ts';

export type NameAllowsTable = { name: string; allowed_by: number | null; reason: string; created_at: number };
export type NameReservationsTable = { pattern: string; org: string; created_by: number | null; created_at: number };
export type SecurityReportsTable = {
  id: Generated<number>;
  reporter_id: number | null;
  reporter_email: string;
  subject: string;
  body: string;
  /** 'new' until an administrator answers it, then 'answered'. */
  status: string;
  answer: string | null;
  answered_by: number | null;
  answered_at: number | null;
  created_at: number;
};

export type NamesDatabase = Database & {
  name_allows: NameAllowsTable;
  name_reservations: NameReservationsTable;
  security_reports: SecurityReportsTable;
};

export const withNames = (db: Kysely<Database>): Kysely<NamesDatabase> =>
  db.withTables<{
    name_allows: NameAllowsTable;
    name_reservations: NameReservationsTable;
    security_reports: SecurityReportsTable;
  }>();
export const trxWithNames = (trx: Transaction<Database>): Transaction<NamesDatabase> =>
  trx.withTables<{
    name_allows: NameAllowsTable;
    name_reservations: NameReservationsTable;
    security_reports: SecurityReportsTable;
  }>();

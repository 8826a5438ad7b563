/**
 * The revocation list, serialized once per ticket. A request costs one read of the current ticket;
 * the list itself is read and serialized again only when the ticket has moved. The answers are
 * kept as bytes, so a 1,000-entry list is not even re-encoded per request: it is written as is.
 */
import { toHex, PROTOCOL_VERSION } from '../protocol/index.ts';
import type { Ledger } from '../ledger/index.ts';

interface Serialized {
  ticket: number;
  /** The whole success envelope, ready to send. */
  full: Buffer;
  empty: Buffer;
}

function envelope(ticket: number, listJson: string): Buffer {
  const result = `{"list":${listJson},"ticket":${ticket},"version":${PROTOCOL_VERSION}}`;
  return Buffer.from(`{"result":${result},"status":200}`, 'utf8');
}

export class RevocationCache {
  #cached: Serialized | undefined;

  constructor(private readonly ledger: Ledger) {}

  /** The answer for a client holding `clientTicket`: the full list unless it is current. */
  answer(clientTicket: number): Buffer {
    let cached = this.#cached;
    if (!cached || cached.ticket !== this.ledger.currentTicket()) {
      cached = this.#serialize();
      this.#cached = cached;
    }
    return clientTicket === cached.ticket ? cached.empty : cached.full;
  }

  #serialize(): Serialized {
    const { ticket, list } = this.ledger.revocations();
    const items = list.map(
      (r) =>
        `{"expiry_unix_ts_s":${r.expiryUnixTsS},"gen_index_hash":"${toHex(r.genIndexHash)}"}`,
    );
    return { ticket, full: envelope(ticket, `[${items.join(',')}]`), empty: envelope(ticket, '[]') };
  }
}

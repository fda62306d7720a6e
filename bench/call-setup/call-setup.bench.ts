// Call setup on loopback: from POST /api/v1/calls to the 180 Ringing from baresip (the call's `ringing`
// call.state) and to the first media packet the gateway's RTP leg receives, p50/p99 over 50 calls through
// kamailio to an auto-answering baresip. Targets (issue 8): ringing p50 < 50 ms, media < 300 ms after answer.
import { CallsService } from '../../src/calls';
import { ClientEventsService } from '../../src/events/client-events.service';
import { ADMIN_PASSWORD, Api, eventually, startTestGateway } from '../../test/support/gateway';
import { startBaresip } from '../../test/support/baresip';
import { startKamailio } from '../../test/support/kamailio';
import { sipOptions } from '../../test/sip/sip-harness';
import { percentile, report } from '../support';

const CALLS = Number(process.env.CALLS ?? 50);

async function main(): Promise<void> {
  const kamailio = await startKamailio({ gw: 'gw-secret', bob: 'bob-secret' });
  const phone = await startBaresip({
    aor: kamailio.uri('bob'),
    password: 'bob-secret',
    proxy: `${kamailio.host}:${kamailio.port}`,
    answermode: 'auto',
    toneHz: 440,
  });
  const env = await startTestGateway({ adapters: [{ id: 'sip' }], calls: { mediaAddress: '127.0.0.2' } });
  try {
    const api = await new Api(env.gw.url).login('admin', ADMIN_PASSWORD);
    const me = (await api.call('GET', '/api/v1/me')).json.id as string;
    const acc = await api.call('POST', '/api/v1/accounts', {
      adapter: 'sip',
      options: sipOptions(kamailio, 'gw', 'gw-secret'),
    });
    await eventually(
      async () => (await api.call('GET', `/api/v1/accounts/${acc.json.id}`)).json.state === 'connected',
      'registered',
    );
    await api.call('POST', `/api/v1/accounts/${acc.json.id}/contacts`, { address: kamailio.uri('bob') });
    const contactId = await eventually(async () => {
      const r = await api.call('GET', '/api/v1/contacts');
      return (r.json as { id: string; endpoints: { capabilities: { registered?: boolean } }[] }[]).find(
        (c) => c.endpoints[0]?.capabilities.registered === true,
      )?.id;
    }, 'bob probed');

    const states = new Map<string, Map<string, number>>();
    env.gw.app.get(ClientEventsService).subscribe(me, (f) => {
      if (f.type !== 'call.state') return;
      const d = f.data as { id: string; state: string };
      const m = states.get(d.id) ?? new Map<string, number>();
      if (!m.has(d.state)) m.set(d.state, performance.now());
      states.set(d.id, m);
    });
    const calls = env.gw.app.get(CallsService);
    const ringing: number[] = [];
    const media: number[] = [];
    const mediaAfterAnswer: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const t0 = performance.now();
      const placed = await api.call('POST', '/api/v1/calls', { contactId, media: 'audio' });
      if (placed.status !== 201) throw new Error(`POST /calls: ${placed.status} ${placed.text}`);
      const id = placed.json.id as string;
      const leg = calls.media(id);
      if (!leg) throw new Error('no media leg');
      await eventually(async () => leg.stats.firstPacketAt !== undefined, 'first media packet', 10_000);
      const m = states.get(id)!;
      const ring = m.get('ringing');
      const answered = m.get('connected');
      if (ring !== undefined) ringing.push(ring - t0);
      // The leg stamps epoch ms; t0 is on the performance clock.
      const firstMedia = leg.stats.firstPacketAt! - (performance.timeOrigin + t0);
      media.push(firstMedia);
      if (answered !== undefined) mediaAfterAnswer.push(firstMedia - (answered - t0));
      await api.call('DELETE', `/api/v1/calls/${id}`);
      await new Promise((r) => setTimeout(r, 50)); // let baresip close the call before the next
    }
    const row = (what: string, xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return {
        what,
        n: s.length,
        p50_ms: +percentile(s, 50).toFixed(1),
        p99_ms: +percentile(s, 99).toFixed(1),
      };
    };
    report('call-setup', [
      row('POST → ringing (180 from baresip)', ringing),
      row('POST → first media packet', media),
      row('answer → first media packet', mediaAfterAnswer),
    ]);
  } finally {
    await env.stop();
    await phone.stop();
    await kamailio.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

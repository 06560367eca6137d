// render.js - mustache.js rendering the same digest templates and data
// as render_bench.c (see render.sh). usage: node render.js DIR DATA N
'use strict';
const fs = require('fs');
const path = require('path');
const Mustache = require('mustache');

const [dir, dataFile, nArg] = process.argv.slice(2);
const n = parseInt(nArg, 10);
const read = (f) => fs.readFileSync(path.join(dir, f), 'utf8');
const tt = read('digest.txt'), th = read('digest.html');
const pt = { header: read('header.txt'), footer: read('footer.txt') };
const ph = { header: read('header.html'), footer: read('footer.html') };
const data = JSON.parse(fs.readFileSync(dataFile, 'utf8'));
const zones = ['Europe/Warsaw', 'Asia/Tokyo', 'America/Sao_Paulo',
	'Africa/Johannesburg', 'Asia/Kolkata', 'UTC'];
const noEscape = (s) => s;

let bytes = 0;
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
	data.member = { name: `Member ${i} Łukasz-Ωmega`,
		email: `m${i}@example.org`, tz: zones[i % 6] };
	data.subject = `[IGF MAG] Digest Mon 14 Jun 2021: ${40 + i % 7} messages`;
	// Text templates must not escape: mustache.js's escape hook off.
	const text = Mustache.render(tt, data, pt, { escape: noEscape });
	const html = Mustache.render(th, data, ph);
	bytes += Buffer.byteLength(text) + Buffer.byteLength(html);
}
const t1 = process.hrtime.bigint();
console.log(`render ${n} ${(Number(t1 - t0) / 1e9).toFixed(6)} ${bytes}`);

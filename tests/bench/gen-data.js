// gen-data.js - a realistic digest's template data (the names of
// etc/templates/README) for render.sh: 25 threads, 8 action items and
// 5 items ahead, with non-ASCII text and characters HTML must escape.
'use strict';
const subjects = ['Budget for 2022 & beyond', 'Agenda <draft> for 23 June',
	'Бюджет на 2022 год', '会议议程与说明', 'تقييم مقترحات ورش العمل',
	'Hybrid meetings: "lessons learned"', 'Call for BPF co-facilitators'];
const people = ['Anriette Esterhuysen', 'Paul Wilson', 'Amrita Choudhury',
	'Kenji Watanabe', 'Дмитрий Шостакович', '王芳', 'سارة الشامي'];
const threads = [];
for (let i = 0; i < 25; i++) {
	const n = 1 + (i * 7) % 9;
	threads.push({
		rank: i + 1, subject: subjects[i % subjects.length] + ` (${i})`,
		count: n, several: n > 1,
		participants: people.slice(0, 1 + i % people.length).join(', '),
		last: 'Mon 14 Jun 09:' + String(10 + i).padStart(2, '0'),
		last_from: people[i % people.length],
		snippet: 'I agree with the proposal, but we should move item 3 ' +
			'up & ask the <secretariat> to circulate the "final" ' +
			'text before Friday; 謝謝 — спасибо …',
	});
}
const actions = [];
for (let i = 0; i < 8; i++)
	actions.push({ kind: ['request', 'deadline', 'event'][i % 3],
		text: `Send comments on draft ${i} to the list & the chair`,
		due: i % 2 ? '2021-06-1' + i : '', has_due: i % 2 === 1,
		assignee: '', has_assignee: false, from: people[i % 7],
		subject: subjects[i % 7] });
const ahead = [];
for (let i = 0; i < 5; i++)
	ahead.push({ id: `item-${i}`, kind: i ? 'event' : 'deadline',
		is_deadline: i === 0, is_event: i > 0,
		title: ['Workshop proposal evaluations', 'Open Consultations',
			'MAG meeting, day 1', 'MAG meeting, day 2', 'BPF meeting'][i],
		when: `Thu 1${7 + i} Jun 2021 23:59 CEST`,
		when_utc: `Thu 1${7 + i} Jun 21:59 UTC`,
		date: `Thursday 1${7 + i} June 2021`, left: `${3 + i} days 11 hours`,
		ends: i ? '16:00 CEST' : '', url: 'https://www.intgovforum.org/x?a=1&b=2',
		note: '', location: i ? 'Online' : '' });
process.stdout.write(JSON.stringify({
	list: 'IGF MAG', from: 'IGF MAG Secretariat',
	from_email: 'mag-secretariat@example.org', today: 'Monday 14 June 2021',
	subject: '', member: {}, threads, has_threads: true, nthreads: 25,
	nmessages: 112, has_more_threads: false, more_threads: 0,
	actions, has_actions: true, ahead, has_ahead: true, days_ahead: 14,
}));

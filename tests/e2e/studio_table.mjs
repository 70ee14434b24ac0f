// What the Studio's content table shows, for the browser scripts that watch it live (studio_live.mjs,
// studio_stale_route.mjs).

// The third cell of each row: the text column of the tests' collections.
export function shownTexts(page) {
	return page.$$eval('tbody tr', (rows) => rows.map((row) => row.cells[2]?.textContent));
}

// 'settled' once the table shows exactly the texts `want`, in order; 'timeout' after 30 s.
export async function tableShows(page, want) {
	try {
		await page.waitForFunction((expected) => {
			const texts = [...document.querySelectorAll('tbody tr')].map((row) => row.cells[2]?.textContent);
			return texts.length === expected.length && expected.every((text, i) => texts[i] === text);
		}, want, { timeout: 30000 });
		return 'settled';
	} catch {
		return 'timeout';
	}
}

/**
 * The simulated instrument universe: a handful of well-known tickers followed by generated
 * companies with believable names and tickers derived from them. Generation is sequential from
 * one seeded stream, so buildUniverse(n, seed) is a prefix of buildUniverse(m, seed) for m > n.
 */
import { PRICE_SCALE } from '../kernel/money.ts';
import type { Instrument } from './instrument.ts';
import { createRandom, type Random } from './random.ts';

export const SECTORS = [
  'Information Technology',
  'Health Care',
  'Financials',
  'Consumer Discretionary',
  'Communication Services',
  'Industrials',
  'Consumer Staples',
  'Energy',
  'Utilities',
  'Real Estate',
  'Materials',
] as const;
export type Sector = (typeof SECTORS)[number];

export const EXCHANGES = ['NYSE', 'NASDAQ', 'ARCA'] as const;

/** Beyond this the name space starts to repeat; nothing needs that many. */
export const MAX_UNIVERSE_SIZE = 100_000;

const CENT = PRICE_SCALE / 100;
const SUB_PENNY = 1;

interface SectorProfile {
  /** Share of generated companies. */
  weight: number;
  /** Typical annualized volatility. */
  volatility: number;
  /** Probability of a NASDAQ listing (the rest is mostly NYSE). */
  nasdaq: number;
  nouns: readonly string[];
}

const PROFILES: Record<Sector, SectorProfile> = {
  'Information Technology': {
    weight: 14, volatility: 0.38, nasdaq: 0.75,
    nouns: ['Technologies', 'Systems', 'Software', 'Semiconductor', 'Networks', 'Data', 'Micro', 'Digital', 'Computing', 'Devices', 'Logic', 'Analytics', 'Cloud', 'Cybersecurity', 'Photonics', 'Instruments'],
  },
  'Health Care': {
    weight: 17, volatility: 0.45, nasdaq: 0.75,
    nouns: ['Therapeutics', 'Pharmaceuticals', 'Biosciences', 'Medical', 'Health', 'Diagnostics', 'Genomics', 'Biologics', 'Surgical', 'Life Sciences', 'Healthcare', 'Oncology', 'Bio'],
  },
  Financials: {
    weight: 15, volatility: 0.28, nasdaq: 0.45,
    nouns: ['Financial', 'Bancorp', 'Bancshares', 'Capital', 'Insurance', 'Trust', 'Asset Management', 'Payments', 'Credit', 'Savings Bank', 'Investors', 'Lending'],
  },
  'Consumer Discretionary': {
    weight: 11, volatility: 0.35, nasdaq: 0.5,
    nouns: ['Brands', 'Retail', 'Apparel', 'Motors', 'Restaurants', 'Home', 'Outdoor', 'Leisure', 'Hotels', 'Auto Parts', 'Stores', 'Footwear', 'Resorts'],
  },
  'Communication Services': {
    weight: 4, volatility: 0.32, nasdaq: 0.6,
    nouns: ['Media', 'Communications', 'Entertainment', 'Interactive', 'Broadcasting', 'Telecom', 'Studios', 'Publishing', 'Games', 'Wireless'],
  },
  Industrials: {
    weight: 14, volatility: 0.28, nasdaq: 0.35,
    nouns: ['Industries', 'Aerospace', 'Manufacturing', 'Logistics', 'Engineering', 'Machinery', 'Freight', 'Airlines', 'Controls', 'Rail', 'Defense', 'Tools', 'Building Products'],
  },
  'Consumer Staples': {
    weight: 4, volatility: 0.2, nasdaq: 0.4,
    nouns: ['Foods', 'Beverages', 'Farms', 'Provisions', 'Grocers', 'Household Products', 'Nutrition', 'Brewing', 'Dairy'],
  },
  Energy: {
    weight: 5, volatility: 0.38, nasdaq: 0.25,
    nouns: ['Energy', 'Petroleum', 'Oil & Gas', 'Resources', 'Midstream', 'Drilling', 'Exploration', 'Pipeline', 'Refining', 'Offshore'],
  },
  Utilities: {
    weight: 3, volatility: 0.18, nasdaq: 0.2,
    nouns: ['Utilities', 'Power', 'Electric', 'Water', 'Gas', 'Power & Light', 'Renewables', 'Energy Services'],
  },
  'Real Estate': {
    weight: 6, volatility: 0.25, nasdaq: 0.25,
    nouns: ['Realty', 'Properties', 'REIT', 'Residential', 'Land', 'Real Estate', 'Self Storage', 'Office Trust', 'Towers'],
  },
  Materials: {
    weight: 5, volatility: 0.32, nasdaq: 0.3,
    nouns: ['Materials', 'Chemicals', 'Minerals', 'Mining', 'Steel', 'Metals', 'Packaging', 'Gold', 'Lithium', 'Specialty Chemicals'],
  },
};

const ROOTS = [
  'Apex', 'Summit', 'Pinnacle', 'Meridian', 'Northwind', 'Keystone', 'Cobalt', 'Sterling', 'Harbor', 'Beacon',
  'Cascade', 'Horizon', 'Granite', 'Redwood', 'Evergreen', 'Silverline', 'Bluestone', 'Ironwood', 'Clearwater', 'Crescent',
  'Liberty', 'Frontier', 'Pioneer', 'Vantage', 'Atlas', 'Orion', 'Vega', 'Polaris', 'Zenith', 'Aurora',
  'Catalyst', 'Vertex', 'Nexus', 'Quantum', 'Helix', 'Vector', 'Stratus', 'Nimbus', 'Sequoia', 'Willow',
  'Aspen', 'Cedar', 'Juniper', 'Magnolia', 'Sierra', 'Tahoe', 'Sonoma', 'Lakeshore', 'Riverbend', 'Highland',
  'Prairie', 'Mesa', 'Canyon', 'Coastal', 'Bayview', 'Hudson', 'Potomac', 'Cumberland', 'Allegheny', 'Ozark',
  'Shenandoah', 'Chesapeake', 'Piedmont', 'Palmetto', 'Copperline', 'Silverpeak', 'Goldfield', 'Ironbridge', 'Stonebridge', 'Brightwater',
  'Fairview', 'Greenfield', 'Westbrook', 'Eastgate', 'Northgate', 'Southport', 'Bridgeport', 'Kingsley', 'Ashford', 'Bradford',
  'Carlisle', 'Davenport', 'Everett', 'Fulton', 'Garrison', 'Hamilton', 'Langley', 'Monroe', 'Preston', 'Radcliffe',
  'Sinclair', 'Thornton', 'Whitman', 'Winslow', 'Arbor', 'Boreal', 'Calder', 'Dynamo', 'Elevate', 'Fathom',
  'Gemini', 'Halcyon', 'Insight', 'Kinetic', 'Lumen', 'Momentum', 'Novus', 'Optima', 'Paragon', 'Radiant',
  'Solstice', 'Tempest', 'Unity', 'Veritas', 'Apogee', 'Bastion', 'Ember', 'Falcon', 'Kestrel', 'Osprey',
  'Heron', 'Condor', 'Mustang', 'Bison', 'Cardinal', 'Sentinel', 'Triton', 'Titan', 'Phoenix', 'Argent',
  'Ardent', 'Alder', 'Birch', 'Hawthorne', 'Linden', 'Sycamore', 'Tamarack', 'Crestview', 'Ridgeline', 'Oakmont',
  'Pinecrest', 'Maplewood', 'Lexington', 'Concord', 'Saratoga', 'Yellowstone', 'Glacier', 'Sapphire', 'Onyx', 'Quartz',
] as const;

const PREFIXES = [
  'First', 'United', 'American', 'National', 'Pacific', 'Atlantic', 'Global', 'North', 'Southern', 'Western',
  'Continental', 'Allied', 'General', 'Consolidated', 'International', 'Premier', 'Standard', 'Central', 'Eastern', 'Great Lakes',
] as const;

/** [suffix, cumulative weight]; '' means none ("Meridian Therapeutics"). */
const SUFFIXES: readonly (readonly [string, number])[] = [
  ['Inc.', 40], ['Corp.', 60], ['', 75], ['Holdings', 85], ['Group', 93], ['Co.', 97], ['Ltd.', 100],
];

/** Well-known tickers first so demos look familiar; prices and volumes are illustrative, not live. */
const WELL_KNOWN: readonly (readonly [string, string, Sector, (typeof EXCHANGES)[number], number, number, number])[] = [
  // symbol, name, sector, exchange, price $, avg shares/day, volatility
  ['AAPL', 'Apple Inc.', 'Information Technology', 'NASDAQ', 195, 55_000_000, 0.25],
  ['MSFT', 'Microsoft Corporation', 'Information Technology', 'NASDAQ', 415, 22_000_000, 0.24],
  ['NVDA', 'NVIDIA Corporation', 'Information Technology', 'NASDAQ', 125, 250_000_000, 0.5],
  ['AMZN', 'Amazon.com, Inc.', 'Consumer Discretionary', 'NASDAQ', 185, 45_000_000, 0.32],
  ['GOOGL', 'Alphabet Inc. Class A', 'Communication Services', 'NASDAQ', 170, 28_000_000, 0.3],
  ['META', 'Meta Platforms, Inc.', 'Communication Services', 'NASDAQ', 500, 15_000_000, 0.38],
  ['TSLA', 'Tesla, Inc.', 'Consumer Discretionary', 'NASDAQ', 240, 95_000_000, 0.6],
  ['AVGO', 'Broadcom Inc.', 'Information Technology', 'NASDAQ', 170, 25_000_000, 0.42],
  ['JPM', 'JPMorgan Chase & Co.', 'Financials', 'NYSE', 200, 9_000_000, 0.22],
  ['V', 'Visa Inc.', 'Financials', 'NYSE', 275, 7_000_000, 0.2],
  ['MA', 'Mastercard Incorporated', 'Financials', 'NYSE', 460, 3_000_000, 0.21],
  ['BAC', 'Bank of America Corporation', 'Financials', 'NYSE', 40, 38_000_000, 0.27],
  ['UNH', 'UnitedHealth Group Incorporated', 'Health Care', 'NYSE', 520, 3_500_000, 0.25],
  ['JNJ', 'Johnson & Johnson', 'Health Care', 'NYSE', 155, 7_000_000, 0.17],
  ['ABBV', 'AbbVie Inc.', 'Health Care', 'NYSE', 170, 6_000_000, 0.22],
  ['MRK', 'Merck & Co., Inc.', 'Health Care', 'NYSE', 120, 8_000_000, 0.22],
  ['WMT', 'Walmart Inc.', 'Consumer Staples', 'NASDAQ', 68, 18_000_000, 0.18],
  ['PG', 'The Procter & Gamble Company', 'Consumer Staples', 'NYSE', 165, 7_000_000, 0.16],
  ['KO', 'The Coca-Cola Company', 'Consumer Staples', 'NYSE', 62, 13_000_000, 0.15],
  ['PEP', 'PepsiCo, Inc.', 'Consumer Staples', 'NASDAQ', 170, 6_000_000, 0.16],
  ['COST', 'Costco Wholesale Corporation', 'Consumer Staples', 'NASDAQ', 850, 2_000_000, 0.2],
  ['HD', 'The Home Depot, Inc.', 'Consumer Discretionary', 'NYSE', 360, 3_500_000, 0.23],
  ['NKE', 'NIKE, Inc.', 'Consumer Discretionary', 'NYSE', 85, 10_000_000, 0.3],
  ['XOM', 'Exxon Mobil Corporation', 'Energy', 'NYSE', 115, 16_000_000, 0.25],
  ['CVX', 'Chevron Corporation', 'Energy', 'NYSE', 155, 8_000_000, 0.25],
  ['NFLX', 'Netflix, Inc.', 'Communication Services', 'NASDAQ', 650, 3_500_000, 0.4],
  ['DIS', 'The Walt Disney Company', 'Communication Services', 'NYSE', 100, 9_000_000, 0.28],
  ['ORCL', 'Oracle Corporation', 'Information Technology', 'NYSE', 140, 9_000_000, 0.3],
  ['CRM', 'Salesforce, Inc.', 'Information Technology', 'NYSE', 270, 6_000_000, 0.33],
  ['ADBE', 'Adobe Inc.', 'Information Technology', 'NASDAQ', 520, 3_000_000, 0.33],
  ['AMD', 'Advanced Micro Devices, Inc.', 'Information Technology', 'NASDAQ', 150, 50_000_000, 0.5],
  ['INTC', 'Intel Corporation', 'Information Technology', 'NASDAQ', 30, 40_000_000, 0.4],
  ['CSCO', 'Cisco Systems, Inc.', 'Information Technology', 'NASDAQ', 50, 18_000_000, 0.2],
  ['BA', 'The Boeing Company', 'Industrials', 'NYSE', 180, 8_000_000, 0.35],
  ['CAT', 'Caterpillar Inc.', 'Industrials', 'NYSE', 340, 2_700_000, 0.28],
  ['NEE', 'NextEra Energy, Inc.', 'Utilities', 'NYSE', 72, 10_000_000, 0.22],
  ['PLD', 'Prologis, Inc.', 'Real Estate', 'NYSE', 115, 4_000_000, 0.26],
  ['LIN', 'Linde plc', 'Materials', 'NASDAQ', 460, 2_000_000, 0.18],
];

const SECTOR_CUMULATIVE = (() => {
  let total = 0;
  return SECTORS.map((sector) => [sector, (total += PROFILES[sector].weight)] as const);
})();

/** Builds `count` instruments with ids 1..count; deterministic for (count, seed). */
export function buildUniverse(count: number, seed: number): Instrument[] {
  if (!Number.isInteger(count) || count < 0 || count > MAX_UNIVERSE_SIZE) {
    throw new RangeError(`universe size must be an integer in 0..${MAX_UNIVERSE_SIZE}, got ${count}`);
  }
  const rng = createRandom(seed);
  const symbols = new Set<string>(WELL_KNOWN.map(([symbol]) => symbol));
  const names = new Set<string>();
  const instruments: Instrument[] = [];

  for (const [symbol, name, sector, exchange, price, avgVolume, volatility] of WELL_KNOWN) {
    if (instruments.length === count) return instruments;
    names.add(name);
    instruments.push({
      id: instruments.length + 1, symbol, name, sector, exchange,
      tickSize: CENT, lotSize: 1, basePrice: price * PRICE_SCALE, volatility, avgVolume,
    });
  }

  while (instruments.length < count) {
    const sector = pickSector(rng);
    const profile = PROFILES[sector];
    const words = companyWords(rng, profile, names);
    const suffix = pickSuffix(rng);
    const name = suffix ? `${words.join(' ')} ${suffix}` : words.join(' ');
    names.add(words.join(' '));

    const roll = rng.next();
    const exchange = roll < 0.05 ? 'ARCA' : roll < 0.05 + 0.95 * profile.nasdaq ? 'NASDAQ' : 'NYSE';
    const symbol = deriveSymbol(rng, words, exchange, symbols);
    symbols.add(symbol);

    const subDollar = rng.next() < 0.025;
    const dollars = subDollar ? Math.exp(Math.log(0.08) + rng.next() * Math.log(0.99 / 0.08)) : logNormalPrice(rng);
    const tickSize = subDollar ? SUB_PENNY : CENT;
    const basePrice = Math.max(tickSize, Math.round((dollars * PRICE_SCALE) / tickSize) * tickSize);

    // Cheap names move more; sectors set the baseline.
    const cheapness = 1 + 0.25 * Math.max(0, Math.log10(50 / dollars));
    const volatility = round3(clamp(profile.volatility * cheapness * Math.exp(0.35 * rng.normal()), 0.1, 0.9));

    const lotRoll = rng.next();
    const lotSize = subDollar ? (lotRoll < 0.7 ? 100 : 10) : lotRoll < 0.9 ? 1 : lotRoll < 0.97 ? 10 : 100;

    const dollarVolume = 25e6 * Math.exp(1.2 * rng.normal());
    const avgVolume = Math.round(clamp(dollarVolume / dollars, 20_000, 150_000_000) / 100) * 100;

    instruments.push({ id: instruments.length + 1, symbol, name, sector, exchange, tickSize, lotSize, basePrice, volatility, avgVolume });
  }
  return instruments;
}

function pickSector(rng: Random): Sector {
  const total = SECTOR_CUMULATIVE[SECTOR_CUMULATIVE.length - 1]![1];
  const x = rng.next() * total;
  for (const [sector, cumulative] of SECTOR_CUMULATIVE) if (x < cumulative) return sector;
  return SECTORS[0];
}

function pickSuffix(rng: Random): string {
  const x = rng.next() * 100;
  for (const [suffix, cumulative] of SUFFIXES) if (x < cumulative) return suffix;
  return 'Inc.';
}

function pick<T>(rng: Random, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/** Words of a company name not used yet, e.g. ["First", "Harbor", "Bancorp"]. */
function companyWords(rng: Random, profile: SectorProfile, taken: ReadonlySet<string>): string[] {
  for (let attempt = 0; ; attempt++) {
    const words: string[] = [];
    // A prefix on a quarter of the names; later attempts add one to escape collisions.
    if (rng.next() < 0.25 || attempt >= 8) words.push(pick(rng, PREFIXES));
    words.push(pick(rng, ROOTS));
    if (attempt >= 16) words.push(pick(rng, ROOTS));
    words.push(pick(rng, profile.nouns));
    if (!taken.has(words.join(' '))) return words;
  }
}

function letters(word: string): string {
  return word.toUpperCase().replace(/[^A-Z]/g, '');
}

function skeleton(word: string): string {
  const upper = letters(word);
  return upper.charAt(0) + upper.slice(1).replace(/[AEIOU]/g, '');
}

/** A ticker derived from the name the way real ones are (initials, consonant skeletons, truncations). */
function deriveSymbol(rng: Random, words: readonly string[], exchange: string, taken: ReadonlySet<string>): string {
  const significant = words.filter((w) => /^[A-Z]/.test(w));
  const initials = significant.map((w) => w.charAt(0)).join('');
  const root = letters(significant.length > 2 ? significant[1]! : significant[0]!);
  const rootSkeleton = skeleton(root);
  const noun = letters(significant[significant.length - 1]!);
  const shortFirst = exchange === 'NYSE';
  const candidates = shortFirst
    ? [initials, root.slice(0, 3), rootSkeleton.slice(0, 3), rootSkeleton.slice(0, 2) + noun.charAt(0), root.slice(0, 2), root.slice(0, 4), rootSkeleton.slice(0, 4)]
    : [rootSkeleton.slice(0, 4), root.slice(0, 4), rootSkeleton.slice(0, 3) + noun.charAt(0), initials + noun.charAt(1), root.slice(0, 3) + noun.charAt(0), rootSkeleton.slice(0, 3)];
  for (const candidate of candidates) {
    if (candidate.length >= 2 && candidate.length <= 5 && !taken.has(candidate)) return candidate;
  }
  // Ordered subsequences of the name's letters starting with its first letter ("MRTX" for Mirati Therapeutics).
  const all = significant.map(letters).join('');
  for (let attempt = 0; attempt < 200; attempt++) {
    const length = 3 + rng.int(3);
    let symbol = all.charAt(0);
    let at = 0;
    while (symbol.length < length && at < all.length - 1) {
      at += 1 + rng.int(Math.max(1, Math.min(4, all.length - 1 - at)));
      symbol += all.charAt(Math.min(at, all.length - 1));
    }
    if (symbol.length >= 3 && !taken.has(symbol)) return symbol;
  }
  // Practically unreachable below MAX_UNIVERSE_SIZE; keeps the loop total.
  for (let n = 0; ; n++) {
    const symbol = all.charAt(0) + base26(n).padStart(4, 'A');
    if (!taken.has(symbol)) return symbol;
  }
}

function base26(n: number): string {
  let text = '';
  do {
    text = String.fromCharCode(65 + (n % 26)) + text;
    n = Math.floor(n / 26);
  } while (n > 0);
  return text;
}

/** Log-normal around $40, kept within $1..$1000. */
function logNormalPrice(rng: Random): number {
  for (;;) {
    const dollars = Math.exp(Math.log(40) + 1.0 * rng.normal());
    if (dollars >= 1 && dollars <= 1000) return dollars;
  }
}

function clamp(x: number, min: number, max: number): number {
  return x < min ? min : x > max ? max : x;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

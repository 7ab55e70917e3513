/**
 * Moving focus between server cells with the keyboard. The cells sit in node cards in DOM order;
 * left/right step through that order, up/down move a row within a card and on into the next or
 * previous card.
 */

export const CELL_SELECTOR = 'button[data-endpoint]';
const CARD_SELECTOR = '[data-node]';
const CELLS_SELECTOR = '.cells';

const cellsOfCard = (card: Element | null): HTMLElement[] =>
  card ? Array.from(card.querySelector(CELLS_SELECTOR)?.children ?? []).filter((el): el is HTMLElement => el.matches(CELL_SELECTOR)) : [];

function siblingCard(card: Element, direction: 1 | -1): Element | null {
  let sibling = direction === 1 ? card.nextElementSibling : card.previousElementSibling;
  while (sibling && !sibling.matches(CARD_SELECTOR)) sibling = direction === 1 ? sibling.nextElementSibling : sibling.previousElementSibling;
  return sibling;
}

/** How many cells fit on one row of a card's cell area. */
function columnsOf(cells: readonly HTMLElement[]): number {
  const firstTop = cells[0]?.offsetTop;
  let columns = 0;
  for (const cell of cells) {
    if (cell.offsetTop !== firstTop) break;
    columns += 1;
  }
  return Math.max(1, columns);
}

export function stepCell(cell: HTMLElement, direction: 1 | -1): HTMLElement | null {
  const card = cell.closest(CARD_SELECTOR);
  if (!card) return null;
  const cells = cellsOfCard(card);
  const index = cells.indexOf(cell) + direction;
  if (index >= 0 && index < cells.length) return cells[index] ?? null;
  const nextCard = siblingCard(card, direction);
  const nextCells = cellsOfCard(nextCard);
  return (direction === 1 ? nextCells[0] : nextCells.at(-1)) ?? null;
}

export function verticalCell(cell: HTMLElement, direction: 1 | -1): HTMLElement | null {
  const card = cell.closest(CARD_SELECTOR);
  if (!card) return null;
  const cells = cellsOfCard(card);
  const columns = columnsOf(cells);
  const index = cells.indexOf(cell);
  const column = index % columns;
  const target = index + direction * columns;
  if (target >= 0 && target < cells.length) return cells[target] ?? null;
  const nextCells = cellsOfCard(siblingCard(card, direction));
  if (nextCells.length === 0) return null;
  if (direction === 1) return nextCells[Math.min(column, nextCells.length - 1)] ?? null;
  const nextColumns = columnsOf(nextCells);
  const lastRowStart = Math.floor((nextCells.length - 1) / nextColumns) * nextColumns;
  return nextCells[Math.min(lastRowStart + column, nextCells.length - 1)] ?? null;
}

export function edgeCell(grid: HTMLElement, edge: 'first' | 'last'): HTMLElement | null {
  if (edge === 'first') return grid.querySelector<HTMLElement>(CELL_SELECTOR);
  const cards = grid.querySelectorAll(CARD_SELECTOR);
  return cellsOfCard(cards[cards.length - 1] ?? null).at(-1) ?? null;
}

/** The cell a key press moves to, or null when the key is not a grid movement. */
export function cellForKey(grid: HTMLElement, cell: HTMLElement, key: string): HTMLElement | null {
  switch (key) {
    case 'ArrowRight':
      return stepCell(cell, 1);
    case 'ArrowLeft':
      return stepCell(cell, -1);
    case 'ArrowDown':
      return verticalCell(cell, 1);
    case 'ArrowUp':
      return verticalCell(cell, -1);
    case 'Home':
      return edgeCell(grid, 'first');
    case 'End':
      return edgeCell(grid, 'last');
    default:
      return null;
  }
}

export function findCell(root: ParentNode, endpoint: string): HTMLElement | null {
  return root.querySelector<HTMLElement>(`button[data-endpoint="${CSS.escape(endpoint)}"]`);
}

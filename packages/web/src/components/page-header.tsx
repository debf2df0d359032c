/** A page's heading, with the page's main action beside it. */
import type { RefObject } from 'react';

export interface PageHeaderProps {
  title: string;
  /** The action button's label, e.g. "New Token". */
  action: string;
  onAction: () => void;
  /** For returning focus to the button (after a dialog it opened closes). */
  actionRef?: RefObject<HTMLButtonElement | null>;
}

export function PageHeader({ title, action, onAction, actionRef }: PageHeaderProps) {
  return (
    <div className="page-header">
      <h1>{title}</h1>
      <button type="button" ref={actionRef} onClick={onAction}>
        {action}
      </button>
    </div>
  );
}

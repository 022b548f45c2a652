import React, { ChangeEvent, KeyboardEvent, useMemo, useRef } from 'react';
import { css, cx } from '@emotion/css';
import { GrafanaTheme2 } from '@grafana/data';
import { useStyles2 } from '@grafana/ui';

import { syntaxError, tokenize, TokenKind } from '../traceql';

interface Props {
  id: string;
  value: string;
  placeholder?: string;
  onChange: (value: string) => void;
  onBlur?: () => void;
  onKeyDown?: (e: KeyboardEvent<HTMLInputElement>) => void;
}

/**
 * A one-line TraceQL input with syntax highlighting: the text is drawn by a
 * coloured copy behind a transparent input, so editing, selection, paste and
 * the caret stay the browser's own (and tests can use the input like any
 * other). The grammar's first syntax error is underlined there; the caller
 * shows its message (see traceql.ts).
 */
export function TraceQLField({ id, value, placeholder, onChange, onBlur, onKeyDown }: Props) {
  const styles = useStyles2(getStyles);
  const overlay = useRef<HTMLDivElement>(null);
  const tokens = useMemo(() => tokenize(value), [value]);
  const error = useMemo(() => syntaxError(value), [value]);

  // Keep the coloured copy under the text when a long query scrolls.
  const syncScroll = (e: React.UIEvent<HTMLInputElement>) => {
    if (overlay.current) {
      overlay.current.scrollLeft = e.currentTarget.scrollLeft;
    }
  };

  const pieces: React.ReactNode[] = [];
  for (const [i, t] of tokens.entries()) {
    const text = value.slice(t.from, t.to);
    if (error && error.from >= t.from && error.from < t.to) {
      // Split the token at the error, so only what cannot be read is underlined.
      const cut = error.from - t.from;
      pieces.push(
        <span key={`${i}a`} className={styles.token[t.kind]} data-token={t.kind}>
          {text.slice(0, cut)}
        </span>,
        <span key={`${i}b`} className={cx(styles.token[t.kind], styles.error)} data-token="error">
          {text.slice(cut)}
        </span>
      );
    } else {
      pieces.push(
        <span key={i} className={styles.token[t.kind]} data-token={t.kind}>
          {text}
        </span>
      );
    }
  }
  if (error && error.from >= value.length) {
    // The query ends too early: mark where something is missing.
    pieces.push(
      <span key="end" className={styles.error} data-token="error">
        {' '}
      </span>
    );
  }

  return (
    <div className={styles.wrapper}>
      <div ref={overlay} className={cx(styles.text, styles.overlay)} aria-hidden="true" data-testid={`${id}-highlight`}>
        {pieces}
      </div>
      <input
        id={id}
        className={cx(styles.text, styles.input)}
        value={value}
        placeholder={placeholder}
        spellCheck={false}
        autoComplete="off"
        aria-invalid={!!error}
        onChange={(e: ChangeEvent<HTMLInputElement>) => onChange(e.currentTarget.value)}
        onBlur={onBlur}
        onKeyDown={onKeyDown}
        onScroll={syncScroll}
      />
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => {
  const purple = theme.visualization.getColorByName('purple');
  const token: Record<TokenKind, string> = {
    attribute: css({ color: theme.colors.primary.text }),
    intrinsic: css({ color: theme.colors.primary.text, fontWeight: theme.typography.fontWeightMedium }),
    string: css({ color: theme.colors.success.text }),
    number: css({ color: theme.colors.warning.text }),
    value: css({ color: theme.colors.warning.text }),
    variable: css({ color: purple }),
    operator: css({ color: purple }),
    function: css({ color: purple, fontWeight: theme.typography.fontWeightMedium }),
    comment: css({ color: theme.colors.text.disabled, fontStyle: 'italic' }),
    plain: css({ color: theme.colors.text.primary }),
  };
  const height = theme.spacing(theme.components.height.md);
  return {
    token,
    wrapper: css({ position: 'relative', flexGrow: 1, minWidth: 0 }),
    // The input and its coloured copy must lay text out identically.
    text: css({
      fontFamily: theme.typography.fontFamilyMonospace,
      fontSize: theme.typography.bodySmall.fontSize,
      height,
      lineHeight: height,
      padding: theme.spacing(0, 1),
      border: `1px solid ${theme.components.input.borderColor}`,
      borderRadius: theme.shape.radius.default,
      whiteSpace: 'pre',
      width: '100%',
      margin: 0,
      boxSizing: 'border-box',
    }),
    overlay: css({
      position: 'absolute',
      inset: 0,
      overflow: 'hidden',
      pointerEvents: 'none',
      background: theme.components.input.background,
      borderColor: 'transparent',
    }),
    input: css({
      position: 'relative',
      display: 'block',
      background: 'transparent',
      color: 'transparent',
      caretColor: theme.colors.text.primary,
      '&::placeholder': { color: theme.colors.text.disabled },
      '&::selection': { background: theme.colors.action.selected, color: 'transparent' },
      '&:focus': { outline: `2px solid ${theme.colors.primary.main}`, outlineOffset: -1 },
      '&[aria-invalid="true"]': { borderColor: theme.colors.error.border },
    }),
    error: css({
      textDecoration: `wavy underline ${theme.colors.error.main}`,
      textDecorationSkipInk: 'none',
      textUnderlineOffset: 3,
    }),
  };
};
